// Package smppserver is smsgw's own SMPP 3.4 server: contact-centre
// platforms bind to it (transmitter, receiver or transceiver) with an
// account from the config, send MT texts from the business numbers they
// may use (submit_sm, acknowledged only after JetStream has persisted the
// message; message_id is our message ID) and receive delivery receipts as
// deliver_sm. It runs on the same Session layer as our carrier client.
// door.go decides who may connect, how long a connection may stay unbound
// and who may bind how often.
package smppserver
