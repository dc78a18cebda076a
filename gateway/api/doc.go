// Package api is smsgw's HTTP API: employees send and read messages,
// admins manage numbers, employees and tokens. Every error is JSON
// {"error": {"code", "message", "field"?}} with the HTTP status of its
// sms.Kind (one table, sms/errors.go).
package api
