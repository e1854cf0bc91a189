// Package redact keeps secrets that ride inside URLs out of logs, errors
// and check output: userinfo (user:pass@) in configured base URLs, query
// strings, and Slack's response_url, whose path is itself a credential
// (anyone holding it may post as the app for 30 minutes).
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// URL returns raw with any userinfo, query and fragment removed. A value
// that does not parse is replaced whole: it may still hold a secret.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// Error rewrites the URL inside any *url.Error in err with URL, keeping
// the operation and the cause, so a transport failure still says what
// failed without repeating a credential.
func Error(err error) error {
	return rewrite(err, URL)
}

// ResponseURLError is Error for requests to a Slack response_url: the
// whole URL is replaced by its name.
func ResponseURLError(err error) error {
	return rewrite(err, func(string) string { return "response_url" })
}

func rewrite(err error, show func(string) string) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	if err == error(ue) {
		return &url.Error{Op: ue.Op, URL: show(ue.URL), Err: ue.Err}
	}
	// Wrapped: keep the wrappers' words, drop the URL from them, and keep
	// the cause reachable for errors.Is (a timeout stays a timeout).
	return &redacted{msg: strings.ReplaceAll(err.Error(), ue.URL, show(ue.URL)), cause: ue.Err}
}

// redacted is an error whose text was cleaned; it unwraps to the cause
// below the *url.Error, never to the *url.Error itself.
type redacted struct {
	msg   string
	cause error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.cause }
