// Package numbers is the company's directory: business numbers, employees
// and who holds which number. State lives in JetStream KV; assignment uses
// revision checks so two admins assigning the same number at once produce
// exactly one winner.
package directory
