#!/usr/bin/env node
// The PouchDB side of the comparison: a CouchDB-compatible HTTP server (express + express-pouchdb in
// mode minimumForPouchDB) over LevelDB databases kept in DATA_DIR, listening on 127.0.0.1 only.
//
//   node server.js DATA_DIR PORT [READY_FILE]
//
// PORT 0 picks a free port. READY_FILE, when given, is written once the server is listening, with
// one line "PID PORT".
// GET /_bench/stats answers this process's figures as JSON:
//   wire bytes counted on the server's TCP sockets, both ways (bytes_from_server = what the server
//   wrote, i.e. the (gzip-compressed) responses; bytes_to_server = what it read), HTTP requests per
//   endpoint, VmRSS / VmHWM from /proc/self/status, and CPU time.
// Connections that carry a /_bench request are left out of the counters, so asking for the
// figures does not change them; the client asks on connections of their own.
// On SIGTERM / SIGINT it closes, prints one JSON line with its final figures to stdout and exits 0.
'use strict';

const fs = require('fs');
const path = require('path');
const http = require('http');

const [dataDirArg, portArg, readyFile] = process.argv.slice(2);
if (!dataDirArg || !portArg) {
    process.stderr.write('usage: node server.js DATA_DIR PORT [READY_FILE]\n');
    process.exit(2);
}
const dataDir = path.resolve(dataDirArg);
const port = Number(portArg);
fs.mkdirSync(dataDir, { recursive: true });

const express = require('express');
const PouchDB = require('pouchdb-node');
const expressPouchDB = require('express-pouchdb');

function procStatusKiB(key) {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp('^' + key + ':\\s+(\\d+)\\s+kB', 'm'));
    return m ? Number(m[1]) : -1;
}

// ---- wire byte counters ---------------------------------------------------------------------------
const counters = { closedRead: 0, closedWritten: 0, connections: 0 };
const live = new Set();
function counted(sock) { return !sock.benchStats; }
function wire() {
    let read = counters.closedRead, written = counters.closedWritten;
    for (const s of live) if (counted(s)) { read += s.bytesRead; written += s.bytesWritten; }
    return { bytes_to_server: read, bytes_from_server: written };
}

// ---- request counts per endpoint ------------------------------------------------------------------
const requests = {};
function endpoint(req) {
    const p = req.path;  // without the query string
    const parts = p.split('/').filter(Boolean);
    let key;
    if (parts.length === 0) key = '/';
    else if (parts.length === 1) key = parts[0].startsWith('_') ? '/' + parts[0] : '/db';
    else if (parts[1] === '_local') key = '/db/_local/*';
    else if (parts[1].startsWith('_')) key = '/db/' + parts[1];
    else key = '/db/{doc}';
    return req.method + ' ' + key;
}

const app = express();
app.disable('x-powered-by');

app.get('/_bench/stats', (req, res) => {
    req.socket.benchStats = true;
    const cpu = process.cpuUsage();
    res.set('Connection', 'close');
    res.json({
        pid: process.pid,
        ...wire(),
        connections: counters.connections,
        requests,
        vm_rss_kib: procStatusKiB('VmRSS'),
        vm_hwm_kib: procStatusKiB('VmHWM'),
        cpu_user_s: cpu.user / 1e6,
        cpu_system_s: cpu.system / 1e6,
        uptime_s: process.uptime(),
    });
});

app.use((req, res, next) => {
    const k = endpoint(req);
    requests[k] = (requests[k] || 0) + 1;
    next();
});

const ServerPouchDB = PouchDB.defaults({ prefix: dataDir + path.sep });
app.use('/', expressPouchDB(ServerPouchDB, { mode: 'minimumForPouchDB' }));

const server = http.createServer(app);
server.on('connection', (sock) => {
    ++counters.connections;
    live.add(sock);
    sock.on('close', () => {
        live.delete(sock);
        if (counted(sock)) {
            counters.closedRead += sock.bytesRead;
            counters.closedWritten += sock.bytesWritten;
        }
    });
});

server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    process.stderr.write(`server: pid ${process.pid} listening on http://127.0.0.1:${addr.port}, data ${dataDir}\n`);
    if (readyFile) {
        fs.writeFileSync(readyFile + '.tmp', `${process.pid} ${addr.port}\n`);
        fs.renameSync(readyFile + '.tmp', readyFile);
    }
});

let stopping = false;
function stop(signal) {
    if (stopping) return;
    stopping = true;
    const cpu = process.cpuUsage();
    process.stdout.write(JSON.stringify({
        server_exit: signal,
        ...wire(),
        connections: counters.connections,
        requests,
        vm_rss_kib: procStatusKiB('VmRSS'),
        vm_hwm_kib: procStatusKiB('VmHWM'),
        cpu_s: (cpu.user + cpu.system) / 1e6,
    }) + '\n');
    server.close();
    for (const s of live) s.destroy();
    // Let LevelDB close its files; do not wait for ever.
    setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
