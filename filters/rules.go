package filters

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"

	"github.com/smsgw/smsgw/sms"
)

// ErrRuleTimeout is the cause of the error ApplySafe returns when an
// operator rule's match ran out of time: the message must fail closed.
var ErrRuleTimeout = errors.New("operator rule match timed out")

// maxRuleMatches bounds the matches of one rule in one text; a text with
// more fails closed (ErrRuleMatches).
const maxRuleMatches = 1000

// ErrRuleMatches is the cause of the error ApplySafe returns when an
// operator rule matched a text more than maxRuleMatches times: the
// matches after the limit cannot be acted on, so the message fails closed.
var ErrRuleMatches = errors.New("operator rule matched too often")

// ruleDetector is one compiled operator rule.
type ruleDetector struct {
	name    string
	re      *regexp2.Regexp
	context []string // context words and phrases
}

func newRuleDetector(r Rule, re *regexp2.Regexp) *ruleDetector {
	d := &ruleDetector{name: r.Name, re: re}
	for _, w := range r.Context {
		if w = strings.TrimSpace(w); w != "" {
			d.context = append(d.context, w)
		}
	}
	return d
}

// applyRules runs the operator rules and lexicon over the input text and
// appends their findings, with offsets into v.text, to found. The error of
// a rule that timed out names the rule and never quotes the text
// (regexp2's own error does: it is dropped).
func (c *Chain) applyRules(text string, v *view, found []sms.Finding) ([]sms.Finding, error) {
	var runeOff []int // byte offset of each rune of text, and len(text); built once
	var runes []rune
	for _, r := range c.c.rules {
		a, ok := c.actions[r.name]
		if !ok || len(r.context) > 0 && !containsPhrase(text, r.context, 0, len(text)) {
			continue
		}
		if runes == nil {
			runes = []rune(text)
			runeOff = make([]int, 0, len(runes)+1)
			for i := range text {
				runeOff = append(runeOff, i)
			}
			runeOff = append(runeOff, len(text))
		}
		m, err := r.re.FindRunesMatch(runes)
		for n := 0; err == nil && m != nil; n++ {
			if n == maxRuleMatches {
				// More matches than any text should have: the rest would
				// go out unredacted, so the text fails closed.
				return found, fmt.Errorf("rule %s on a %d-byte text: more than %d matches: %w", r.name, len(text), maxRuleMatches, ErrRuleMatches)
			}
			s, e := runeOff[m.Index], runeOff[m.Index+m.Length]
			if e > s && (len(r.context) == 0 || containsPhrase(text, r.context, max(0, s-ContextBytes), s)) {
				if ns, ne := v.normIndex(s), v.normIndex(e); ns < ne {
					found = append(found, sms.Finding{Type: r.name, Start: ns, End: ne, Action: a})
				}
			}
			m, err = r.re.FindNextMatch(m)
		}
		if err != nil {
			return found, fmt.Errorf("rule %s on a %d-byte text: %w", r.name, len(text), ErrRuleTimeout)
		}
	}
	if c.c.lexicon != nil {
		found = c.c.lexicon.match(text, v, c.actions, found)
	}
	return found, nil
}

// containsPhrase reports whether one of phrases starts at a word boundary
// in text[from:to] (case-insensitive, whole words).
func containsPhrase(text string, phrases []string, from, to int) bool {
	for i := from; i < to; i++ {
		if i > 0 && isWordByte(text, i-1) || text[i] >= utf8.RuneSelf && !utf8.RuneStart(text[i]) {
			continue
		}
		for _, p := range phrases {
			if e := i + len(p); e <= len(text) && strings.EqualFold(text[i:e], p) && (e == len(text) || !isWordByte(text, e)) {
				return true
			}
		}
	}
	return false
}

// isWordByte reports whether the character at or around text[i] is a
// letter or digit (any script).
func isWordByte(text string, i int) bool {
	c := text[i]
	if c < utf8.RuneSelf {
		return isDigit(c) || isLetter(c) || c == '_'
	}
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lexicon matches the phrases of the lexicon rules.
type lexicon struct {
	names  map[string]bool
	byHead map[string][]lexPhrase // by the folded first word
}

type lexPhrase struct {
	name  string
	words []string // folded
}

func newLexicon(rules []LexiconRule) *lexicon {
	l := &lexicon{names: map[string]bool{}, byHead: map[string][]lexPhrase{}}
	for _, r := range rules {
		l.names[r.Name] = true
		for _, p := range r.Phrases {
			w := phraseWords(p)
			if len(w) > 0 {
				l.byHead[w[0]] = append(l.byHead[w[0]], lexPhrase{name: r.Name, words: w})
			}
		}
	}
	return l
}

// maxLexWord bounds the bytes of a folded word.
const maxLexWord = 64

// phraseWords splits p into folded words.
func phraseWords(p string) []string {
	var out []string
	var buf [maxLexWord]byte
	for i := 0; i < len(p); {
		s, e, n := nextLexWord(p, i, &buf)
		if s < 0 {
			break
		}
		if n > 0 {
			out = append(out, string(buf[:n]))
		}
		i = e
	}
	return out
}

// nextLexWord finds the next word (letters and digits of any script) of
// text at or after i and folds it into buf. It returns its start and end
// (-1 when there is none) and the folded length (0 when it is too long).
func nextLexWord(text string, i int, buf *[maxLexWord]byte) (s, e, n int) {
	s = -1
	for i < len(text) {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !word {
			if s >= 0 {
				break
			}
			i += size
			continue
		}
		if s < 0 {
			s = i
		}
		r = unicode.ToLower(r)
		if n >= 0 && n+utf8.RuneLen(r) <= maxLexWord {
			n += utf8.EncodeRune(buf[n:], r)
		} else {
			n = -1
		}
		i += size
	}
	if n < 0 {
		n = 0
	}
	return s, i, n
}

// maxLexGap is the most bytes of spaces and punctuation between two words
// of a phrase.
const maxLexGap = 4

func (l *lexicon) match(text string, v *view, actions map[string]sms.Action, found []sms.Finding) []sms.Finding {
	var buf [maxLexWord]byte
	for i := 0; i < len(text); {
		s, e, n := nextLexWord(text, i, &buf)
		if s < 0 {
			break
		}
		i = e
		cands := l.byHead[string(buf[:n])]
		for _, p := range cands {
			a, ok := actions[p.name]
			if !ok {
				continue
			}
			end, ok := l.rest(text, e, p.words[1:])
			if !ok {
				continue
			}
			if ns, ne := v.normIndex(s), v.normIndex(end); ns < ne {
				found = append(found, sms.Finding{Type: p.name, Start: ns, End: ne, Action: a})
			}
			break
		}
	}
	return found
}

// rest reports whether words follow text[i:], each after a short gap, and
// where the last ends.
func (l *lexicon) rest(text string, i int, words []string) (int, bool) {
	var buf [maxLexWord]byte
	for _, w := range words {
		s, e, n := nextLexWord(text, i, &buf)
		if s < 0 || s-i > maxLexGap || string(buf[:n]) != w {
			return 0, false
		}
		i = e
	}
	return i, true
}
