package wire

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// redacted replaces every secret this package removes. It matches what
// url.URL.Redacted writes for a password, so a reader sees one marker.
const redacted = "xxxxx"

// RedactURL returns rawURL fit to print: the password (url.URL.Redacted),
// a user name given without a password (tokens are often passed that way,
// https://TOKEN@host), and the values of query parameters whose names look
// like credentials (key, api-key, token, sig, secret, password, auth,
// credential, ...) are replaced by "xxxxx". Other query values, the host
// and the path are kept because they are what a user needs to debug a
// wrong base URL. A string that does not parse as a URL is scrubbed of
// anything that looks like user info or a credential parameter instead.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return redactUnparsed(rawURL)
	}
	return redactParsed(u)
}

func redactParsed(u *url.URL) string {
	if u.User != nil {
		if _, has := u.User.Password(); !has && u.User.Username() != "" {
			u.User = url.User(redacted)
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = redactQuery(u.RawQuery)
	}
	return u.Redacted()
}

// redactQuery rewrites key=value pairs in place, keeping their order and
// encoding, so a printed URL still reads like the one the user wrote.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if !hasValue {
			continue
		}
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if secretParam(name) {
			parts[i] = p[:strings.IndexByte(p, '=')+1] + redacted
		}
	}
	return strings.Join(parts, "&")
}

// secretWords are substrings of query-parameter names that carry
// credentials: "key" (key, api-key, api_key, apikey, subscription-key),
// "token" (access_token, x-amz-security-token), "sig" (Azure SAS sig,
// X-Amz-Signature), "secret", "pass" (password, passwd), "auth",
// "credential" (X-Amz-Credential), "session".
var secretWords = [...]string{"key", "token", "sig", "secret", "pass", "auth", "credential", "session"}

func secretParam(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

var (
	userinfoRE    = regexp.MustCompile(`//[^/?#@\s]*@`)
	secretParamRE = regexp.MustCompile(`(?i)([?&][^=&#\s]*(?:key|token|sig|secret|pass|auth|credential|session)[^=&#\s]*=)[^&#\s]*`)
)

func redactUnparsed(s string) string {
	s = userinfoRE.ReplaceAllString(s, "//"+redacted+"@")
	return secretParamRE.ReplaceAllString(s, "${1}"+redacted)
}

// Patterns of secrets that servers and SDKs echo back in error text. Each
// keeps the part that tells a reader what was there ("Bearer ", "sk-") and
// replaces the rest.
var scrubPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// Authorization / api-key / x-api-key headers echoed as "Name: value",
	// "name=value" or JSON "name":"value"; the value may be "Bearer abc".
	{regexp.MustCompile(`(?i)((?:proxy-)?authorization|x-api-key|api-key|ocp-apim-subscription-key|x-amz-security-token)("?\s*[:=]\s*"?)(?:(?:bearer|basic)\s+)?[^\s",;}]+`), "${1}${2}" + redacted},
	// A bearer token anywhere else in the text.
	{regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]+=*`), "${1}" + redacted},
	// JSON Web Tokens (Azure Entra ID access tokens among them).
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), redacted},
	// OpenAI-style keys: sk-..., sk-proj-..., sk-ant-... .
	{regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{8,}`), "sk-" + redacted},
	// AWS access key ids (not secret alone, but half of a credential pair).
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`), redacted},
}

// awsSecretRE finds 40-character base64 runs: the shape of an AWS secret
// access key. Long runs (100+) are session tokens. Candidates are checked
// by looksRandom so hex digests (git hashes, request ids) are kept. "=" is
// base64 padding and only ever ends a run: were it allowed inside, the "="
// of "secret=KEY" or "SecretAccessKey=KEY" would join the name to the key
// into one run too long to be taken for a key.
var awsSecretRE = regexp.MustCompile(`[A-Za-z0-9/+]{40,}={0,2}`)

// Scrub returns text with every non-empty value in secrets replaced by
// "xxxxx" (also in its URL-query-escaped form), and with what looks like a
// credential removed even when it is not among secrets: an echoed
// Authorization, api-key or x-api-key header value, "Bearer <token>", a
// JSON Web Token, an "sk-..." key, an AWS access key id, and a 40-character
// base64 run mixing upper and lower case (an AWS secret access key) or any
// base64 run of 100 characters or more (a session token).
//
// Scrub is meant for text a server sent back (error bodies) and for error
// strings that may quote a request; it errs on the side of removing too
// much.
func Scrub(text string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		text = strings.ReplaceAll(text, s, redacted)
		if e := url.QueryEscape(s); e != s {
			text = strings.ReplaceAll(text, e, redacted)
		}
	}
	for _, p := range scrubPatterns {
		text = p.re.ReplaceAllString(text, p.repl)
	}
	return awsSecretRE.ReplaceAllStringFunc(text, func(m string) string {
		if len(m) >= 100 || (len(m) <= 44 && looksRandom(m)) {
			return redacted
		}
		return m
	})
}

// looksRandom reports whether s mixes upper- and lower-case letters, as a
// base64 secret does and a hex digest or an English word does not.
func looksRandom(s string) bool {
	var upper, lower bool
	for _, r := range s {
		switch {
		case 'A' <= r && r <= 'Z':
			upper = true
		case 'a' <= r && r <= 'z':
			lower = true
		}
	}
	return upper && lower
}

// Snippet returns the start of a response body on one line, for error
// messages: white space folded, cut at 200 bytes on a rune boundary.
func Snippet(body string) string {
	const max = 200
	s := strings.Join(strings.Fields(body), " ")
	if s == "" {
		return "(empty body)"
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// URLSecrets returns the credentials in rawURL's user info, in every form
// a server may echo them: the password, user:password, the user info as
// escaped in a URL, and the HTTP Basic credentials net/http sends for it
// (base64 of user:password, with and without padding). A user name given
// without a password is taken for a token (https://TOKEN@host) and
// returned too. It returns nil for a URL without user info, or one that
// does not parse.
func URLSecrets(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return nil
	}
	user := u.User.Username()
	pass, hasPass := u.User.Password()
	basic := user + ":" + pass
	out := []string{
		u.User.String(),
		base64.StdEncoding.EncodeToString([]byte(basic)),
		base64.RawStdEncoding.EncodeToString([]byte(basic)),
	}
	if hasPass {
		out = append(out, basic, pass)
	} else {
		out = append(out, user)
	}
	return out
}

// SortSecrets returns the non-empty, distinct secrets in ss, longest
// first: Scrub replaces them in order, and a secret that contains another
// (user:password and password) must go whole.
func SortSecrets(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
