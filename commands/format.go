package commands

// MaskNumber hides a customer number but its last four digits, so Slack
// never shows whom an agent is talking to.
func MaskNumber(n string) string {
	var digits []rune
	for _, r := range n {
		if r >= '0' && r <= '9' {
			digits = append(digits, r)
		}
	}
	if len(digits) <= 4 {
		return "••••"
	}
	return "••••" + string(digits[len(digits)-4:])
}
