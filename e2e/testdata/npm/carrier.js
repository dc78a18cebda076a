// An SMSC built on the npm `smpp` package, for smsgw's client to bind to as
// its carrier. It accepts one bind (any credentials in ACCEPT), answers
// submit_sm with its own ids, sends a DELIVRD receipt for each, and sends
// an MO deliver_sm when a JSON line {"mo": {"from","to","text"}} arrives on
// stdin. Every event is a JSON line on stdout.
// usage: node carrier.js PORT SYSTEM_ID PASSWORD
'use strict';
const smpp = require('smpp');
const [port, systemId, password] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let bound = null;
let n = 0;

const pad = (x) => String(x).padStart(2, '0');
const stamp = (d) => `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;

const server = smpp.createServer((session) => {
  session.on('error', (e) => out({ event: 'error', error: String(e) }));
  const bind = (pdu) => {
    const ok = pdu.system_id === systemId && pdu.password === password;
    session.send(pdu.response({ command_status: ok ? 0 : smpp.ESME_RINVPASWD }));
    out({ event: 'bind', command: pdu.command, system_id: pdu.system_id, ok });
    if (ok) bound = session;
  };
  session.on('bind_transceiver', bind);
  session.on('bind_transmitter', bind);
  session.on('bind_receiver', bind);
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
  session.on('submit_sm', (pdu) => {
    n += 1;
    const id = `npm${n}`;
    const sm = pdu.short_message || {};
    const udh = sm.udh && sm.udh.length ? Array.from(sm.udh[0]) : null;
    session.send(pdu.response({ message_id: id }));
    out({ event: 'submit_sm', message_id: id, source_addr: pdu.source_addr, destination_addr: pdu.destination_addr,
      data_coding: pdu.data_coding, esm_class: pdu.esm_class, udh, text: sm.message, registered_delivery: pdu.registered_delivery });
    if (pdu.registered_delivery) {
      setTimeout(() => {
        const now = new Date();
        session.deliver_sm({
          source_addr_ton: 1, source_addr_npi: 1, source_addr: pdu.destination_addr,
          dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: pdu.source_addr, esm_class: 4,
          short_message: `id:${id} sub:001 dlvrd:001 submit date:${stamp(now)} done date:${stamp(now)} stat:DELIVRD err:000 text:`,
          receipted_message_id: id, message_state: 2,
        }, (r) => out({ event: 'receipt_resp', message_id: id, status: r.command_status }));
      }, 50);
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => out({ event: 'listening', port: Number(port) }));

let buf = '';
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const cmd = JSON.parse(line);
    if (cmd.mo && bound) {
      bound.deliver_sm({
        source_addr_ton: 1, source_addr_npi: 1, source_addr: cmd.mo.from,
        dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: cmd.mo.to, short_message: cmd.mo.text,
      }, (r) => out({ event: 'mo_resp', status: r.command_status }));
    }
  }
});
process.stdin.on('end', () => process.exit(0));
