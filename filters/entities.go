package filters

import "github.com/smsgw/smsgw/sms"

// The finding types of the built-in detectors. Each is also a key of
// Config.Policy, Config.Inbound and Config.Outbound.
const (
	TypeCard           = "card"            // payment card number (PAN)
	TypeCVV            = "cvv"             // card security code
	TypePIN            = "pin"             // PIN
	TypeExpiry         = "expiry"          // card expiry date
	TypeTrack          = "track"           // magnetic-stripe track 1 or 2 data
	TypeSSN            = "ssn"             // US Social Security number
	TypeITIN           = "itin"            // US Individual Taxpayer Identification Number
	TypeIBAN           = "iban"            // International Bank Account Number
	TypeBankAccount    = "bank_account"    // bank account number (with context)
	TypeRouting        = "routing"         // bank routing number / sort code (with context)
	TypePassport       = "passport"        // passport number (with context)
	TypeDriversLicense = "drivers_license" // driver's licence number (with context)
	TypeUKNIN          = "uk_nin"          // UK National Insurance number
	TypeCASIN          = "ca_sin"          // Canadian Social Insurance Number (with context)
	TypeDOB            = "dob"             // date of birth (with context)
	TypePassword       = "password"        // password or other credential (with context)
	TypeEmail          = "email"           // email address
	TypePhone          = "phone"           // phone number

	// TypeCardSplit marks, on the second message of a conversation, a card
	// number whose first digits went out in the previous message: they
	// could not be redacted any more (see Conversations).
	TypeCardSplit = "card_split"
)

// maskStyle says how a redacted value is masked.
type maskStyle uint8

const (
	maskKeep4  maskStyle = iota // digits and letters masked, the last four kept when more than eight
	maskAllAln                  // every digit and letter masked
	maskAll                     // every character but spaces masked (credentials)
	maskNever                   // never masked (lexicon phrases that block)
)

// entity is one built-in finding type with its default action.
type entity struct {
	name  string
	def   sms.Action
	style maskStyle
	doc   string
}

// entities lists the built-in finding types in precedence order: when two
// findings overlap and are equally long, the one of the earlier type wins.
var entities = [...]entity{
	{TypeTrack, sms.ActionRedact, maskKeep4, "magnetic-stripe track 1/2 data"},
	{TypeCard, sms.ActionRedact, maskKeep4, "payment card numbers: Luhn plus brand prefix and length"},
	{TypeCVV, sms.ActionRedact, maskAllAln, "card security codes next to a card or after cvv, cvc, security code"},
	{TypeExpiry, sms.ActionRedact, maskAllAln, "card expiry dates next to a card or after exp, expiry, valid thru"},
	{TypePIN, sms.ActionRedact, maskAllAln, "PINs after pin"},
	{TypeSSN, sms.ActionRedact, maskKeep4, "US Social Security numbers"},
	{TypeITIN, sms.ActionRedact, maskKeep4, "US ITINs"},
	{TypeCASIN, sms.ActionRedact, maskKeep4, "Canadian SINs (Luhn) after sin, social insurance"},
	{TypeIBAN, sms.ActionRedact, maskKeep4, "IBANs (mod-97, per-country length)"},
	{TypeRouting, sms.ActionRedact, maskKeep4, "routing numbers and sort codes after routing, aba, sort code"},
	{TypeBankAccount, sms.ActionRedact, maskKeep4, "bank account numbers after account, acct"},
	{TypeUKNIN, sms.ActionRedact, maskKeep4, "UK National Insurance numbers"},
	{TypePassport, sms.ActionRedact, maskKeep4, "passport numbers after passport"},
	{TypeDriversLicense, sms.ActionRedact, maskKeep4, "driver's licence numbers after driver's license, DL"},
	{TypeDOB, sms.ActionRedact, maskAllAln, "dates of birth after dob, born, birthday"},
	{TypePassword, sms.ActionRedact, maskAll, "passwords and credentials after password, pwd, passcode, login"},
	{TypeEmail, sms.ActionFlag, maskKeep4, "email addresses"},
	{TypePhone, sms.ActionFlag, maskKeep4, "phone numbers"},
}

// DetectorNames lists the built-in finding types (the keys of
// Config.Policy), in precedence order.
func DetectorNames() []string {
	out := make([]string, len(entities))
	for i, e := range entities {
		out[i] = e.name
	}
	return out
}

// lookupEntity returns the built-in finding type called name.
func lookupEntity(name string) (entity, bool) {
	for _, e := range entities {
		if e.name == name {
			return e, true
		}
	}
	return entity{}, false
}

// precedence is the rank of a finding type: built-ins in table order,
// operator rules after them.
func precedence(name string) int {
	if name == TypeCardSplit {
		return -1 // over the card the second part may be on its own
	}
	for i := range entities {
		if entities[i].name == name {
			return i
		}
	}
	return len(entities)
}
