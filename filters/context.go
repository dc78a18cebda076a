package filters

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

// contextDetector finds the values that only their context makes
// sensitive: a keyword, then (within a few filler words: "number", "no",
// "#", "is", ":" ...) the value.
//
//	cvv, cvc, csc, cid, cvn, security code, sec code  -> cvv: 3-4 digits
//	pin                                               -> pin: 4-8 digits
//	exp, expiry, valid thru, good thru                -> expiry: MM/YY and the like
//	expires, expiration, valid until                  -> expiry, when a card is near
//	account, acct, acc, checking, savings             -> bank_account: 6-17 digits
//	routing, aba, rtn / sort code, bsb / transit      -> routing: 9 / 6 / 5-8 digits
//	passport                                          -> passport: 6-12 letters and digits, 4+ digits
//	license, licence, dl                              -> drivers_license: 5-20 letters and digits, 4+ digits
//	dob, d.o.b, birth, born / birthday, bday          -> dob: a date (weak words need a year before 2020)
//	password, passwd, pwd, passcode, passphrase       -> password: the next word
//	pass, pw, login, logon                            -> password, after ':', '=' or "is" only
//
// A password after a strong keyword without ':', '=' or "is" must look
// like one (a digit, a symbol or a capital inside it); a few common words
// ("password reset", "password is incorrect") are never taken for one.
// "one-time password/passcode" introduces a one-time code, not a
// credential.
type contextDetector struct{}

var _ Detector = contextDetector{}

func (contextDetector) Name() string { return "context" }

// kw is a class of context keyword.
type kw uint8

const (
	kwNone kw = iota
	kwCVV
	kwSec // security / sec, followed by "code"
	kwPIN
	kwExp
	kwExpWeak
	kwValid // valid / good, followed by thru, through, until, till
	kwAccount
	kwRouting
	kwSort // sort / bsb
	kwTransit
	kwPassport
	kwLicense
	kwDOB
	kwBirthday
	kwPassword
	kwPassWeak
	kwD // "d" of "d.o.b"
)

var keywords = map[string]kw{
	"cvv": kwCVV, "cvc": kwCVV, "csc": kwCVV, "cid": kwCVV, "cvn": kwCVV, "cvd": kwCVV, "cv": kwCVV,
	"security": kwSec, "sec": kwSec,
	"pin": kwPIN,
	"exp": kwExp, "expiry": kwExp, "expy": kwExp, "expdate": kwExp,
	"expires": kwExpWeak, "expiration": kwExpWeak, "expire": kwExpWeak, "expiring": kwExpWeak,
	"valid": kwValid, "good": kwValid,
	"account": kwAccount, "acct": kwAccount, "acc": kwAccount, "accnt": kwAccount, "acount": kwAccount,
	"checking": kwAccount, "savings": kwAccount,
	"routing": kwRouting, "aba": kwRouting, "rtn": kwRouting,
	"sort": kwSort, "bsb": kwSort,
	"transit":  kwTransit,
	"passport": kwPassport,
	"license":  kwLicense, "licence": kwLicense, "dl": kwLicense,
	"dob": kwDOB, "birth": kwDOB, "born": kwDOB, "birthdate": kwDOB,
	"birthday": kwBirthday, "bday": kwBirthday,
	"password": kwPassword, "passwd": kwPassword, "pwd": kwPassword, "passcode": kwPassword,
	"passphrase": kwPassword, "pword": kwPassword, "pswd": kwPassword,
	"pass": kwPassWeak, "pw": kwPassWeak, "login": kwPassWeak, "logon": kwPassWeak,
	"d": kwD,
}

// maxKeyword is the length of the longest keyword.
const maxKeyword = 10

// kwLens[a*26+b] has bit n set when a keyword of n letters starts with
// the letters a, b (0-25); one-letter keywords are in kwLens1.
var (
	kwLens  [26 * 26]uint16
	kwLens1 [26]bool
)

func init() {
	for w := range keywords {
		if len(w) == 1 {
			kwLens1[w[0]-'a'] = true
			continue
		}
		kwLens[int(w[0]-'a')*26+int(w[1]-'a')] |= 1 << len(w)
	}
}

// maybeKeyword reports whether the word w (ASCII letters) might be a
// keyword: a table look-up on its first two letters and length.
func maybeKeyword(w string) bool {
	if len(w) == 1 {
		return kwLens1[(w[0]|0x20)-'a']
	}
	return len(w) <= maxKeyword && kwLens[int((w[0]|0x20)-'a')*26+int((w[1]|0x20)-'a')]&(1<<len(w)) != 0
}

func (contextDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	for i := 0; i < len(text); {
		c := text[i]
		if !isLetter(c) {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && isLetter(text[j]) {
			j++
		}
		if maybeKeyword(text[i:j]) {
			if k := lookupKeyword(text[i:j]); k != kwNone {
				var end int
				dst, end = contextValue(text, i, j, k, dst)
				if end > j {
					j = end
				}
			}
		}
		i = j
	}
	return dst
}

// lookupKeyword returns the class of word w (any case).
func lookupKeyword(w string) kw {
	var buf [maxKeyword]byte
	for k := 0; k < len(w); k++ {
		buf[k] = w[k] | 0x20
	}
	return keywords[string(buf[:len(w)])]
}

// wordAt returns the end of the word (ASCII letters) at text[i], i if none.
func wordAt(text string, i int) int {
	j := i
	for j < len(text) && isLetter(text[j]) {
		j++
	}
	return j
}

// wordIs reports whether text[i:j] is w (lower case), ignoring case.
func wordIs(text string, i, j int, w string) bool {
	return j-i == len(w) && hasPrefixFold(text[i:], w)
}

// nextWord skips spaces and returns the next word of text after i.
func nextWord(text string, i int) (int, int) {
	for i < len(text) && (text[i] == ' ' || text[i] == '-') {
		i++
	}
	return i, wordAt(text, i)
}

// prevWord returns the word of text ending before i (spaces and dashes
// between), or an empty range.
func prevWord(text string, i int) (int, int) {
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '-') {
		j--
	}
	b := j
	for b > 0 && isLetter(text[b-1]) {
		b--
	}
	return b, j
}

// contextValue handles keyword k at text[i:j] and returns dst and the end
// of the value found (j if none).
func contextValue(text string, i, j int, k kw, dst []sms.Finding) ([]sms.Finding, int) {
	switch k {
	case kwSec:
		ns, ne := nextWord(text, j)
		if !wordIs(text, ns, ne, "code") {
			return dst, j
		}
		k, j = kwCVV, ne
	case kwValid:
		ns, ne := nextWord(text, j)
		switch {
		case wordIs(text, ns, ne, "thru"), wordIs(text, ns, ne, "through"):
			k = kwExp
		case wordIs(text, ns, ne, "until"), wordIs(text, ns, ne, "till"), wordIs(text, ns, ne, "to"):
			k = kwExpWeak
		default:
			return dst, j
		}
		j = ne
	case kwSort:
		if text[i]|0x20 == 's' {
			ns, ne := nextWord(text, j)
			if !wordIs(text, ns, ne, "code") {
				return dst, j
			}
			j = ne
		}
	case kwD: // d.o.b
		if !hasPrefixFold(text[i:], "d.o.b") {
			return dst, j
		}
		k, j = kwDOB, i+5
		if j < len(text) && text[j] == '.' {
			j++
		}
	case kwCVV:
		if j < len(text) && text[j] == '2' && !alnumAt(text, j+1) { // cvv2, cvc2
			j++
		}
		if wordIs(text, i, j, "cv") {
			return dst, j // "cv" alone is a résumé
		}
	case kwPassword, kwPassWeak:
		// A one-time password or passcode is a one-time code.
		ps, pe := prevWord(text, i)
		if wordIs(text, ps, pe, "time") || wordIs(text, ps, pe, "onetime") || wordIs(text, ps, pe, "otp") {
			return dst, j
		}
		// A boarding, bus or day pass is a ticket.
		if k == kwPassWeak && (wordIs(text, ps, pe, "boarding") || wordIs(text, ps, pe, "bus") || wordIs(text, ps, pe, "day") ||
			wordIs(text, ps, pe, "season") || wordIs(text, ps, pe, "guest") || wordIs(text, ps, pe, "hall") || wordIs(text, ps, pe, "ski")) {
			return dst, j
		}
		return passwordValue(text, j, k == kwPassWeak, dst)
	}
	v := skipFillers(text, j)
	if v >= len(text) || v-j > 24 {
		return dst, j
	}
	var s, e int
	var typ string
	switch k {
	case kwCVV:
		if n := digitsAt(text, v); (n == 3 || n == 4) && !digitBefore(text, v) {
			s, e, typ = v, v+n, TypeCVV
		}
	case kwPIN:
		if n := digitsAt(text, v); n >= 4 && n <= 8 && !digitBefore(text, v) && !alnumAt(text, v+n) {
			s, e, typ = v, v+n, TypePIN
		}
	case kwExp, kwExpWeak:
		if isDigit(text[v]) && !digitBefore(text, v) && (k == kwExp || cardNear(text, i)) {
			if xs, xe, ok := parseExpiry(text, v, false); ok {
				s, e, typ = xs, xe, TypeExpiry
			}
		}
	case kwAccount:
		if n, end := digitGroupsAt(text, v, 17); n >= 6 && !digitBefore(text, v) {
			s, e, typ = v, end, TypeBankAccount
		}
	case kwRouting, kwSort, kwTransit:
		n, end := digitGroupsAt(text, v, 9)
		ok := k == kwRouting && n == 9 || k == kwSort && n == 6 || k == kwTransit && n >= 5 && n <= 9
		if ok && !digitBefore(text, v) {
			s, e, typ = v, end, TypeRouting
		}
	case kwPassport:
		if end, ok := idToken(text, v, 6, 12, 4, false); ok {
			s, e, typ = v, end, TypePassport
		}
	case kwLicense:
		if end, ok := idToken(text, v, 5, 20, 4, true); ok {
			s, e, typ = v, end, TypeDriversLicense
		}
	case kwDOB, kwBirthday:
		if xs, xe, ok := parseDate(text, v, k == kwDOB); ok {
			s, e, typ = xs, xe, TypeDOB
		}
	}
	if typ == "" {
		return dst, j
	}
	return append(dst, sms.Finding{Type: typ, Start: s, End: e}), e
}

// digitBefore reports whether text[v-1] is a digit.
func digitBefore(text string, v int) bool { return v > 0 && isDigit(text[v-1]) }

// skipFillers returns the index of the first character after text[j] that
// is not a filler: spaces, ':', '=', '#', '-', '.', ',', '(', ')', quotes,
// and filler words ("number", "no", "is", "code", "date", ...).
func skipFillers(text string, j int) int {
	for words := 0; j < len(text); {
		c := text[j]
		switch c {
		case ' ', '\t', '\n', '\r', ':', '=', '#', '-', '.', ',', '(', ')', '\'', '"', '*', '>':
			j++
			continue
		}
		if c >= utf8.RuneSelf {
			if class, size := sepAt(text, j); class != 0 {
				j += size
				continue
			}
			return j
		}
		if isLetter(c) && words < 3 {
			e := wordAt(text, j)
			if fillerWord(text[j:e]) && !isDigit(byteAt(text, e)) { // "NO3034419" is a value
				j = e
				words++
				continue
			}
		}
		return j
	}
	return j
}

// digitGroupsAt reads digit groups at text[v] joined by single spaces or
// dashes, up to max digits, and returns how many digits and where they
// end. It returns 0 when more digits follow (the number is longer than
// max) or letters are glued to it.
func digitGroupsAt(text string, v, max int) (int, int) {
	n, i := 0, v
	for i < len(text) {
		if isDigit(text[i]) {
			n++
			i++
			if n > max {
				return 0, v
			}
			continue
		}
		if (text[i] == ' ' || text[i] == '-') && i+1 < len(text) && isDigit(text[i+1]) && n > 0 {
			i++
			continue
		}
		break
	}
	if alnumAt(text, i) {
		return 0, v
	}
	return n, i
}

// idToken reads an identifier at text[v]: letters and digits, min to max
// of them with at least minDigits digits; with groups, further groups
// joined by single spaces or dashes as long as each holds a digit.
func idToken(text string, v, min, max, minDigits int, groups bool) (int, bool) {
	if v > 0 && alnumAt(text, v-1) || !alnumAt(text, v) {
		return 0, false
	}
	n, digits, i := 0, 0, v
	for {
		gs, gd := i, 0
		for i < len(text) && alnumAt(text, i) {
			if isDigit(text[i]) {
				gd++
			}
			i++
		}
		if gd == 0 {
			if gs == v {
				return 0, false // "license plate ABC1234": a word, then the value of something else
			}
			i = gs - 1 // a group without a digit is no part of it
			break
		}
		n += i - gs
		digits += gd
		if !groups || i+1 >= len(text) || (text[i] != ' ' && text[i] != '-') || !alnumAt(text, i+1) || n >= max {
			break
		}
		// The next group must hold a digit.
		k := i + 1
		hasDigit := false
		for k < len(text) && alnumAt(text, k) {
			hasDigit = hasDigit || isDigit(text[k])
			k++
		}
		if !hasDigit {
			break
		}
		i++
	}
	return i, n >= min && n <= max && digits >= minDigits
}

// cardNear reports whether a card is near text[i]: a card word within 64
// bytes before or after it, or twelve digits within 64 bytes before it.
func cardNear(text string, i int) bool {
	from, to := max(0, i-64), min(len(text), i+64)
	digits := 0
	for k := from; k < to; k++ {
		c := text[k]
		if isDigit(c) {
			if k < i {
				digits++
			}
			continue
		}
		if isLetter(c) && (k == 0 || !isLetter(text[k-1])) {
			e := wordAt(text, k)
			switch {
			case wordIs(text, k, e, "card"), wordIs(text, k, e, "visa"), wordIs(text, k, e, "mastercard"),
				wordIs(text, k, e, "amex"), wordIs(text, k, e, "credit"), wordIs(text, k, e, "debit"),
				wordIs(text, k, e, "cc"), wordIs(text, k, e, "discover"):
				return true
			}
		}
	}
	return digits >= 12
}

// passwordValue reads the credential after a password keyword ending at
// j. weak keywords ("pass", "login") need ':', '=' or "is" before the value.
func passwordValue(text string, j int, weak bool, dst []sms.Finding) ([]sms.Finding, int) {
	v := j
	explicit := false
	free := 0 // words after "for" or "to" that may come before the value
loop:
	for words := 0; v < len(text) && v-j < 40; {
		c := text[v]
		switch {
		case c == ' ' || c == '\t':
			v++
		case c == ':' || c == '=':
			explicit = true
			v++
			for v < len(text) && (text[v] == ' ' || text[v] == '\t') {
				v++
			}
			break loop
		case c == '-':
			v++
			if v < len(text) && text[v] == '>' {
				v++
			}
		case isLetter(c) && words < 5:
			e := wordAt(text, v)
			switch {
			case wordIs(text, v, e, "is"), wordIs(text, v, e, "was"), wordIs(text, v, e, "be"):
				explicit = true
			case wordIs(text, v, e, "for"), wordIs(text, v, e, "to"):
				free = 2
			case wordIs(text, v, e, "the"), wordIs(text, v, e, "my"), wordIs(text, v, e, "new"), wordIs(text, v, e, "now"),
				wordIs(text, v, e, "temp"), wordIs(text, v, e, "temporary"), wordIs(text, v, e, "will"):
			default:
				if free == 0 || explicit {
					break loop
				}
				free--
			}
			v = e
			words++
		default:
			break loop
		}
	}
	if v >= len(text) || weak && !explicit {
		return dst, j
	}
	// The value: everything up to the next space, without quotes or
	// brackets around it and the full stop or comma after it.
	s, e := v, v
	for e < len(text) {
		r, size := rune(text[e]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[e:])
		}
		if unicode.IsSpace(r) || r < ' ' || r == 0x7f {
			break
		}
		e += size
	}
	for s < e && (text[s] == '"' || text[s] == '\'' || text[s] == '(' || text[s] == '<' || text[s] == '`' || text[s] == '[') {
		s++
	}
	for e > s {
		switch text[e-1] {
		case '.', ',', ';', ':', '"', '\'', ')', '>', '`', ']':
			e--
			continue
		}
		break
	}
	if e-s < 3 || e-s > 64 || notAPassword(text[s:e]) || strings.Trim(text[s:e], "*") == "" { // "password: ******" is masked already
		return dst, j
	}
	if !explicit && !looksLikePassword(strings.TrimRight(text[s:e], "?!")) {
		return dst, j
	}
	return append(dst, sms.Finding{Type: TypePassword, Start: s, End: e}), e
}

// looksLikePassword reports whether w holds a digit, a symbol or a
// capital after its first letter.
func looksLikePassword(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case isDigit(c), c >= utf8.RuneSelf:
			return true
		case !isLetter(c):
			return true
		case i > 0 && c >= 'A' && c <= 'Z':
			return true
		}
	}
	return false
}

// notAPassword reports whether w (any case) is a word that follows
// "password" in texts about passwords rather than in texts giving one.
func notAPassword(w string) bool {
	var buf [12]byte
	if len(w) > len(buf) {
		return false
	}
	for k := 0; k < len(w); k++ {
		buf[k] = w[k] | 0x20
	}
	switch string(buf[:len(w)]) {
	case "incorrect", "wrong", "expired", "invalid", "required", "correct", "needed", "case", "not", "the", "and",
		"too", "still", "being", "same", "different", "changed", "reset", "okay", "fine", "weak", "strong",
		"short", "long", "missing", "locked", "sent", "below", "above", "attached", "your", "set", "empty",
		"blank", "updated", "protected", "secure", "safe", "easy", "hard", "but", "that", "this", "also",
		"very", "change", "changes", "recovery", "manager", "again", "link", "expires", "expiring", "please",
		"has", "have", "will", "was", "were", "you", "here", "there", "for", "with", "from", "isn't", "doesn't",
		"works", "working", "worked", "reminder", "hint", "later", "soon", "tomorrow", "today", "unknown",
		"sensitive", "protect", "policy", "rules", "requirements", "screen", "page", "field", "box", "sms",
		"email", "text", "via", "by", "again.", "lost", "forgot", "forgotten", "request", "requested":
		return true
	}
	return false
}
