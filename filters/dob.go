package filters

// parseDate reads a date at text[v] and returns its extent. Forms:
// numeric day, month and year in any of the usual orders (01/02/1980,
// 1980-02-01, 1.2.80, 01 02 1980, 19800201), or with the month's name
// (March 3, 1985; 3rd March 1985; 03-Mar-1985; Mar 3 1985). A year is
// 19xx or 20xx, or two digits. Without strong (the context was only
// "birthday"), the date needs a year before 2020 (two digits: not 20-29):
// "birthday party on 3/14" is no date of birth. With strong, day and
// month alone will do ("DOB 03/14").
func parseDate(text string, v int, strong bool) (int, int, bool) {
	if v >= len(text) {
		return 0, 0, false
	}
	yearOK := func(y, digits int) bool {
		switch {
		case digits == 4:
			return y >= 1900 && y <= 2099 && (strong || y < 2020)
		case digits == 2:
			return strong || y < 20 || y >= 30 // not a year of this decade
		}
		return false
	}
	if isDigit(text[v]) {
		if digitBefore(text, v) {
			return 0, 0, false
		}
		if s, e, ok := dayFirstDate(text, v, strong, yearOK); ok {
			return s, e, true
		}
		return numericDate(text, v, strong, yearOK)
	}
	if isLetter(text[v]) {
		return namedDate(text, v, strong, yearOK)
	}
	return 0, 0, false
}

func numericDate(text string, v int, strong bool, yearOK func(int, int) bool) (int, int, bool) {
	var part [3]int
	var digits [3]int
	n, i := 0, v
	var sep byte
	for n < 3 {
		d := digitsAt(text, i)
		if d == 0 || d > 8 {
			break
		}
		part[n], digits[n] = atoi(text[i:i+d]), d
		n++
		i += d
		if n == 3 || i+1 >= len(text) {
			break
		}
		c := text[i]
		if c != '/' && c != '-' && c != '.' && c != ' ' || !isDigit(text[i+1]) {
			break
		}
		if sep != 0 && c != sep {
			break
		}
		sep = c
		i++
	}
	if i < len(text) && (isDigit(text[i]) || isLetter(text[i])) {
		return 0, 0, false
	}
	dm := func(d, m int) bool { return d >= 1 && d <= 31 && m >= 1 && m <= 12 }
	switch {
	case n == 1 && digits[0] == 8 && strong: // 19800201, 01021980
		s := text[v : v+8]
		y1, a, b := atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])
		y2, c, d := atoi(s[4:8]), atoi(s[:2]), atoi(s[2:4])
		if yearOK(y1, 4) && dm(b, a) || yearOK(y2, 4) && (dm(c, d) || dm(d, c)) {
			return v, v + 8, true
		}
	case n == 2 && strong && digits[0] <= 2 && digits[1] <= 2:
		if dm(part[0], part[1]) || dm(part[1], part[0]) {
			return v, i, true
		}
	case n == 3 && digits[0] == 4 && digits[1] <= 2 && digits[2] <= 2:
		if yearOK(part[0], 4) && dm(part[2], part[1]) {
			return v, i, true
		}
	case n == 3 && digits[0] <= 2 && digits[1] <= 2 && (digits[2] == 4 || digits[2] == 2):
		if yearOK(part[2], digits[2]) && (dm(part[0], part[1]) || dm(part[1], part[0])) {
			return v, i, true
		}
	}
	return 0, 0, false
}

// atoi is the value of a short ASCII digit string.
func atoi(s string) int {
	v := 0
	for k := 0; k < len(s); k++ {
		v = v*10 + int(s[k]-'0')
	}
	return v
}

// monthName returns the month (1-12) that the word text[i:j] names, or 0.
func monthName(text string, i, j int) int {
	var buf [9]byte
	if j-i < 3 || j-i > len(buf) {
		return 0
	}
	for k := i; k < j; k++ {
		buf[k-i] = text[k] | 0x20
	}
	switch string(buf[:j-i]) {
	case "jan", "january":
		return 1
	case "feb", "february":
		return 2
	case "mar", "march":
		return 3
	case "apr", "april":
		return 4
	case "may":
		return 5
	case "jun", "june":
		return 6
	case "jul", "july":
		return 7
	case "aug", "august":
		return 8
	case "sep", "sept", "september":
		return 9
	case "oct", "october":
		return 10
	case "nov", "november":
		return 11
	case "dec", "december":
		return 12
	}
	return 0
}

// dayAt reads a day (1-31, perhaps with st/nd/rd/th) at text[i] and
// returns where it ends.
func dayAt(text string, i int) (int, bool) {
	d := digitsAt(text, i)
	if d == 0 || d > 2 || digitBefore(text, i) {
		return i, false
	}
	day := atoi(text[i : i+d])
	if day < 1 || day > 31 {
		return i, false
	}
	i += d
	if i+2 <= len(text) {
		switch uint16(text[i]|0x20)<<8 | uint16(text[i+1]|0x20) {
		case 's'<<8 | 't', 'n'<<8 | 'd', 'r'<<8 | 'd', 't'<<8 | 'h':
			if !isLetter(byteAt(text, i+2)) {
				i += 2
			}
		}
	}
	if isLetter(byteAt(text, i)) || isDigit(byteAt(text, i)) {
		return i, false
	}
	return i, true
}

func byteAt(text string, i int) byte {
	if i < 0 || i >= len(text) {
		return 0
	}
	return text[i]
}

// yearAt reads a 4-digit (or, after a separator, 2-digit) year at text[i]
// after separators (space, comma, '-', '/', '.') and returns where it
// ends.
func yearAt(text string, i int, yearOK func(int, int) bool) (int, bool) {
	j := i
	for j < len(text) && j-i < 3 && (text[j] == ' ' || text[j] == ',' || text[j] == '-' || text[j] == '/' || text[j] == '.') {
		j++
	}
	if j == i {
		return i, false
	}
	d := digitsAt(text, j)
	if (d != 4 && d != 2) || isLetter(byteAt(text, j+d)) {
		return i, false
	}
	if !yearOK(atoi(text[j:j+d]), d) {
		return i, false
	}
	return j + d, true
}

// namedDate reads a date with a month name: "March 3, 1985", "Mar 3rd",
// "March 1985" at text[v] (a letter), or is called from a day: see
// dayFirstDate.
func namedDate(text string, v int, strong bool, yearOK func(int, int) bool) (int, int, bool) {
	e := wordAt(text, v)
	if monthName(text, v, e) == 0 {
		return 0, 0, false
	}
	i := e
	if i < len(text) && text[i] == '.' {
		i++
	}
	for i < len(text) && (text[i] == ' ' || text[i] == '-') && i-e < 3 {
		i++
	}
	if end, ok := dayAt(text, i); ok {
		if yend, ok := yearAt(text, end, yearOK); ok {
			return v, yend, true
		}
		if strong {
			return v, end, true
		}
		return 0, 0, false
	}
	if strong {
		if yend, ok := yearAt(text, e, yearOK); ok && digitsAt(text, yend-4) == 4 {
			return v, yend, true // March 1985
		}
	}
	return 0, 0, false
}

// dayFirstDate reads "3 March 1985", "3rd of March, 1985", "03-Mar-1985"
// at text[v] (a digit).
func dayFirstDate(text string, v int, strong bool, yearOK func(int, int) bool) (int, int, bool) {
	end, ok := dayAt(text, v)
	if !ok {
		return 0, 0, false
	}
	i := end
	for i < len(text) && (text[i] == ' ' || text[i] == '-' || text[i] == '.') && i-end < 2 {
		i++
	}
	if e := wordAt(text, i); wordIs(text, i, e, "of") {
		i = e
		for i < len(text) && text[i] == ' ' {
			i++
		}
	}
	e := wordAt(text, i)
	if e == i || monthName(text, i, e) == 0 {
		return 0, 0, false
	}
	if e < len(text) && text[e] == '.' {
		e++
	}
	if yend, ok := yearAt(text, e, yearOK); ok {
		return v, yend, true
	}
	if strong {
		return v, e, true
	}
	return 0, 0, false
}
