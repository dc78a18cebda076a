// Package testenv starts the real components tests need (a MinIO server
// with Object Lock) and implements the rule that under CI=true a missing
// component fails the test instead of skipping it.
package testenv
