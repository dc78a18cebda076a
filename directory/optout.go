package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/smsgw/smsgw/sms"
)

// Keyword is what a whole inbound text means to the opt-out rules.
type Keyword int

const (
	KeywordNone      Keyword = iota
	KeywordOptOut            // STOP, UNSUBSCRIBE, CANCEL, END, QUIT
	KeywordOptOutAll         // STOPALL: always company-wide
	KeywordOptIn             // START, UNSTOP, YES
	KeywordHelp              // HELP
)

func (k Keyword) String() string {
	switch k {
	case KeywordOptOut:
		return "opt_out"
	case KeywordOptOutAll:
		return "opt_out_all"
	case KeywordOptIn:
		return "opt_in"
	case KeywordHelp:
		return "help"
	}
	return "none"
}

// normalizeKeyword upper-cases text and drops every space and a trailing
// '.' or '!', so " Stop. " and "stop all" read as STOP and STOPALL.
func normalizeKeyword(text string) string {
	if len(text) > 40 {
		return "" // no keyword is that long, however spaced
	}
	var b strings.Builder
	for _, r := range text {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return strings.TrimRight(b.String(), ".!")
}

// ClassifyKeyword says whether a whole text is an opt-out, opt-in or help
// keyword (case- and whitespace-insensitive). A keyword inside a longer
// text is not one: "please stop by tomorrow" is an ordinary message.
func ClassifyKeyword(text string) (Keyword, string) {
	w := normalizeKeyword(text)
	switch w {
	case "STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT":
		return KeywordOptOut, w
	case "STOPALL":
		return KeywordOptOutAll, w
	case "START", "UNSTOP", "YES":
		return KeywordOptIn, w
	case "HELP":
		return KeywordHelp, w
	}
	return KeywordNone, ""
}

// OptOut is one customer's opt-outs.
type OptOut struct {
	Customer sms.Number `json:"customer"`
	// All is a company-wide opt-out (nil when there is none).
	All *OptOutEntry `json:"all,omitempty"`
	// Numbers are opt-outs from single business numbers (E.164 keys).
	Numbers map[string]OptOutEntry `json:"numbers,omitempty"`
}

// OptOutEntry records how an opt-out happened.
type OptOutEntry struct {
	At      time.Time  `json:"at"`
	Keyword string     `json:"keyword,omitempty"` // STOP, ... or "" when an admin added it
	Via     sms.Number `json:"via,omitempty"`     // the business number texted
	By      string     `json:"by"`                // system (keyword) or the admin
}

// Blocks reports whether texts from business to the customer are refused.
func (o OptOut) Blocks(business sms.Number) bool {
	if o.All != nil {
		return true
	}
	_, ok := o.Numbers[business.E164()]
	return ok
}

func (o OptOut) empty() bool { return o.All == nil && len(o.Numbers) == 0 }

// OptOutOf returns a customer's opt-outs (empty when there are none).
func (d *Directory) OptOutOf(ctx context.Context, customer sms.Number) (OptOut, uint64, error) {
	e, err := d.optouts.Get(ctx, customer.Digits())
	if sms.KindOf(err) == sms.NotFound {
		return OptOut{Customer: customer}, 0, nil
	}
	if err != nil {
		return OptOut{}, 0, err
	}
	var o OptOut
	if err := json.Unmarshal(e.Value, &o); err != nil {
		return OptOut{}, 0, fmt.Errorf("decoding opt-out: %w", err)
	}
	return o, e.Revision, nil
}

// OptedOut reports whether texts from business to customer are refused.
func (d *Directory) OptedOut(ctx context.Context, customer, business sms.Number) (bool, error) {
	o, _, err := d.OptOutOf(ctx, customer)
	if err != nil {
		return false, err
	}
	return o.Blocks(business), nil
}

// changeOptOut applies f to a customer's opt-outs; it reports whether
// anything changed.
func (d *Directory) changeOptOut(ctx context.Context, customer sms.Number, f func(o *OptOut) bool) (bool, error) {
	for range 5 {
		o, rev, err := d.OptOutOf(ctx, customer)
		if err != nil {
			return false, err
		}
		if o.Numbers == nil {
			o.Numbers = map[string]OptOutEntry{}
		}
		if !f(&o) {
			return false, nil
		}
		key := customer.Digits()
		switch {
		case o.empty() && rev != 0:
			// Keep the (empty) record rather than deleting it: a delete
			// would lose the revision check against a concurrent STOP.
			data, _ := json.Marshal(o)
			_, err = d.optouts.Update(ctx, key, data, rev)
		case rev == 0:
			data, _ := json.Marshal(o)
			_, err = d.optouts.Create(ctx, key, data)
		default:
			data, _ := json.Marshal(o)
			_, err = d.optouts.Update(ctx, key, data, rev)
		}
		if sms.KindOf(err) == sms.Conflict {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("recording opt-out: %w", err)
		}
		return true, nil
	}
	return false, sms.Errorf(sms.Conflict, "concurrent_change", "opt-out changed concurrently; retry")
}

// AddOptOut opts customer out of texts from business (company-wide when
// all is set or business is empty). It reports whether this changed
// anything: a second STOP gets no second confirmation.
func (d *Directory) AddOptOut(ctx context.Context, customer, business sms.Number, all bool, keyword, by string) (bool, error) {
	if business == "" {
		all = true
	}
	now := time.Now().UTC()
	changed, err := d.changeOptOut(ctx, customer, func(o *OptOut) bool {
		if o.All != nil {
			return false
		}
		e := OptOutEntry{At: now, Keyword: keyword, Via: business, By: by}
		if all {
			o.All = &e
			return true
		}
		if _, ok := o.Numbers[business.E164()]; ok {
			return false
		}
		o.Numbers[business.E164()] = e
		return true
	})
	if err == nil && changed {
		scope := ScopeNumber
		if all {
			scope = ScopeCompany
		}
		attrs := map[string]string{"customer": customer.E164(), "scope": scope}
		if business != "" {
			attrs["number"] = business.E164()
		}
		if keyword != "" {
			attrs["keyword"] = keyword
		}
		d.ev.emit(ctx, sms.StatusOptedOut, by, scope, attrs)
	}
	return changed, err
}

// RemoveOptOut opts customer back in for business: its own opt-out and a
// company-wide one are cleared (START after STOPALL resubscribes). With
// business empty every opt-out of the customer is cleared.
func (d *Directory) RemoveOptOut(ctx context.Context, customer, business sms.Number, keyword, by string) (bool, error) {
	changed, err := d.changeOptOut(ctx, customer, func(o *OptOut) bool {
		if !o.Blocks(business) && business != "" {
			return false
		}
		if business == "" {
			if o.empty() {
				return false
			}
			o.All, o.Numbers = nil, nil
			return true
		}
		o.All = nil
		delete(o.Numbers, business.E164())
		return true
	})
	if err == nil && changed {
		attrs := map[string]string{"customer": customer.E164()}
		if business != "" {
			attrs["number"] = business.E164()
		}
		if keyword != "" {
			attrs["keyword"] = keyword
		}
		d.ev.emit(ctx, sms.StatusOptedIn, by, keyword, attrs)
	}
	return changed, err
}

// OptOuts lists every customer with an opt-out, sorted.
func (d *Directory) OptOuts(ctx context.Context) ([]OptOut, error) {
	keys, err := d.optouts.Keys(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	out := []OptOut{}
	for _, k := range keys {
		o, _, err := d.OptOutOf(ctx, sms.Number("+"+k))
		if err != nil {
			return nil, err
		}
		if !o.empty() {
			out = append(out, o)
		}
	}
	return out, nil
}
