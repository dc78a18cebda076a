package filters

// luhnDouble[d] is the Luhn contribution of digit d in a doubled position.
var luhnDouble = [10]byte{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}

// luhn reports whether the digit values d (0-9 each) pass the Luhn
// (mod 10) check used by payment card numbers. Empty input fails.
func luhn(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		if double {
			sum += int(luhnDouble[d[i]])
		} else {
			sum += int(d[i])
		}
		double = !double
	}
	return sum%10 == 0
}
