// An ESME built on the npm `smpp` package: binds to smsgw's SMPP server as
// a transceiver, submits one text asking for a receipt, and prints every
// event as a JSON line on stdout for the Go test to check.
// usage: node platform.js HOST PORT SYSTEM_ID PASSWORD FROM TO TEXT
'use strict';
const smpp = require('smpp');
const [host, port, systemId, password, from, to, text] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const session = smpp.connect({ url: `smpp://${host}:${port}`, auto_enquire_link_period: 10000 });
session.on('error', (e) => { out({ event: 'error', error: String(e) }); process.exit(1); });
session.on('deliver_sm', (pdu) => {
  const sm = pdu.short_message || {};
  out({
    event: 'deliver_sm', esm_class: pdu.esm_class, source_addr: pdu.source_addr,
    destination_addr: pdu.destination_addr, text: sm.message, receipted_message_id: pdu.receipted_message_id || null,
    message_state: pdu.message_state === undefined ? null : pdu.message_state,
  });
  session.send(pdu.response());
});
session.bind_transceiver({ system_id: systemId, password: password }, (pdu) => {
  out({ event: 'bind_resp', status: pdu.command_status });
  if (pdu.command_status !== 0) process.exit(2);
  session.submit_sm({
    source_addr_ton: 1, source_addr_npi: 1, source_addr: from,
    dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: to,
    registered_delivery: 1, short_message: text,
  }, (resp) => out({ event: 'submit_sm_resp', status: resp.command_status, message_id: resp.message_id }));
});
process.stdin.on('end', () => session.unbind(() => process.exit(0)));
process.stdin.resume();
