package presence

import "time"

// SetClaimLease shortens the fleet claim's lease and its renewal, so
// tests can outlast them.
func SetClaimLease(c *Snapshots, lease, renew time.Duration) { c.lease, c.renew = lease, renew }
