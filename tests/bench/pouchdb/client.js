#!/usr/bin/env node
// The PouchDB replication being measured: a pull from the server (server.js) into a fresh LevelDB
// PouchDB in this process, over HTTP on loopback.
//
//   node client.js DB_URL LOCAL_DIR default|b500 META_JSON
//
//  (a) times only `await PouchDB.replicate(remote, local, opts)` into the fresh LOCAL_DIR, with opts
//      {} (default: batch_size 100, batches_limit 10) or {batch_size: 500, batches_limit: 10} (b500);
//  (b) then, untimed, changes the documents META_JSON names (change_ids, written by load.js: 100
//      documents, every n/100-th) on the server with _all_docs + _bulk_docs, and times the same
//      replicate call again (incremental), checking that exactly those documents arrived at rev 2.
// Prints ONE JSON line on stdout. MB are MiB (KiB / 1024) of VmRSS / VmHWM from /proc/<pid>/status;
// the server's come from its GET /_bench/stats. Wire bytes are counted on the server's sockets and
// cover only the timed replicate() of the phase they are reported for.
'use strict';

const t_start = process.hrtime.bigint();
const fs = require('fs');
const http = require('http');

function procStatusKiB(key) {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp('^' + key + ':\\s+(\\d+)\\s+kB', 'm'));
    return m ? Number(m[1]) : -1;
}
const mb = (kib) => Math.round((kib / 1024) * 10) / 10;
const rssBareKiB = procStatusKiB('VmRSS');

const [dbUrl, localDir, setting, metaFile] = process.argv.slice(2);
const settings = { default: {}, b500: { batch_size: 500, batches_limit: 10 } };
if (!dbUrl || !localDir || !metaFile || !(setting in settings)) {
    process.stderr.write('usage: node client.js DB_URL LOCAL_DIR default|b500 META_JSON\n');
    process.exit(2);
}
const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
const statsUrl = new URL('/_bench/stats', dbUrl).href;

// The server's figures, on a connection of its own (the server leaves such connections out of its
// byte counters).
function serverStats() {
    return new Promise((resolve, reject) => {
        http.get(statsUrl, { agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => (body += c));
            res.on('end', () => {
                try { resolve(JSON.parse(body)); } catch (e) { reject(e); }
            });
        }).on('error', reject);
    });
}
function diffRequests(after, before) {
    const out = {};
    for (const [k, v] of Object.entries(after.requests)) {
        const d = v - (before.requests[k] || 0);
        if (d) out[k] = d;
    }
    return out;
}
const seconds = (t0, t1) => Number(t1 - t0) / 1e9;

async function main() {
    if (fs.existsSync(localDir) && fs.readdirSync(localDir).length) throw new Error(`${localDir} is not empty: the client needs a fresh database`);

    const t_req0 = process.hrtime.bigint();
    const PouchDB = require('pouchdb-node');
    const requireMs = seconds(t_req0, process.hrtime.bigint()) * 1000;
    const rssAfterRequireKiB = procStatusKiB('VmRSS');

    const local = new PouchDB(localDir);
    await local.info();
    const remote = new PouchDB(dbUrl, { skip_setup: true });
    const remoteInfo = await remote.info();
    if (remoteInfo.doc_count !== meta.n) throw new Error(`the server holds ${remoteInfo.doc_count} documents, expected ${meta.n}`);
    await new Promise((r) => setTimeout(r, 300));
    const idleRssKiB = procStatusKiB('VmRSS');

    // ---- (a) the initial pull ----
    const opts = settings[setting];
    const cpu0 = process.cpuUsage();
    const s0 = await serverStats();
    const t0 = process.hrtime.bigint();
    const resA = await PouchDB.replicate(remote, local, opts);
    const t1 = process.hrtime.bigint();
    const cpuA = process.cpuUsage(cpu0);
    const s1 = await serverStats();
    const clientHwmAKiB = procStatusKiB('VmHWM');
    const clientRssAKiB = procStatusKiB('VmRSS');
    const wallS = seconds(t0, t1);
    if (!resA.ok || resA.docs_written !== meta.n) throw new Error(`phase (a): ok ${resA.ok}, ${resA.docs_written} of ${meta.n} written, errors ${JSON.stringify(resA.errors)}`);
    const localInfo = await local.info();
    if (localInfo.doc_count !== meta.n) throw new Error(`phase (a): the local db holds ${localInfo.doc_count} documents, expected ${meta.n}`);

    // ---- (b) change documents on the server (untimed), then the incremental pull ----
    const ids = meta.change_ids;
    const got = await remote.allDocs({ keys: ids, include_docs: true });
    const now = new Date().toISOString();
    const changed = got.rows.map((r) => {
        if (!r.doc) throw new Error(`phase (b): ${r.key} is not on the server`);
        const d = r.doc;
        d.meta = Object.assign({}, d.meta, { versionId: '2', lastUpdated: now });
        if (typeof d.active === 'boolean') d.active = !d.active;
        return d;
    });
    const put = await remote.bulkDocs(changed);
    const putFailed = put.filter((r) => !r.ok);
    if (putFailed.length) throw new Error(`phase (b): ${putFailed.length} changes failed: ${JSON.stringify(putFailed[0])}`);
    const newRevs = new Map(put.map((r) => [r.id, r.rev]));

    const s2 = await serverStats();
    const t2 = process.hrtime.bigint();
    const resB = await PouchDB.replicate(remote, local, opts);
    const t3 = process.hrtime.bigint();
    const s3 = await serverStats();
    const incMs = seconds(t2, t3) * 1000;
    const check = await local.allDocs({ keys: ids });
    const arrived = check.rows.filter((r) => r.value && r.value.rev === newRevs.get(r.key) && r.value.rev.startsWith('2-')).length;
    const verified = resB.ok && resB.docs_written === ids.length && arrived === ids.length;

    const line = {
        n: meta.n,
        setting,
        opts,
        wall_s: Math.round(wallS * 1000) / 1000,
        docs_per_s: Math.round(resA.docs_written / wallS),
        client_peak_rss_mb: mb(clientHwmAKiB),
        server_peak_rss_mb: mb(s1.vm_hwm_kib),
        wire_bytes_from_server: s1.bytes_from_server - s0.bytes_from_server,
        wire_bytes_to_server: s1.bytes_to_server - s0.bytes_to_server,
        incremental_ms: Math.round(incMs * 10) / 10,
        idle_rss_mb: mb(idleRssKiB),
        // the rest: detail and cross-checks
        docs_written: resA.docs_written,
        json_bytes: meta.json_bytes,
        client_cpu_s: Math.round(((cpuA.user + cpuA.system) / 1e6) * 100) / 100,
        server_cpu_s: Math.round((s1.cpu_user_s + s1.cpu_system_s - s0.cpu_user_s - s0.cpu_system_s) * 100) / 100,
        requests: diffRequests(s1, s0),
        server_connections: s1.connections - s0.connections,
        client_rss_after_a_mb: mb(clientRssAKiB),
        server_rss_before_a_mb: mb(s0.vm_rss_kib),
        incremental_changed: ids.length,
        incremental_docs_written: resB.docs_written,
        incremental_verified: verified,
        incremental_wire_bytes_from_server: s3.bytes_from_server - s2.bytes_from_server,
        incremental_wire_bytes_to_server: s3.bytes_to_server - s2.bytes_to_server,
        incremental_requests: diffRequests(s3, s2),
        client_peak_rss_mb_end: mb(procStatusKiB('VmHWM')),
        server_peak_rss_mb_end: mb(s3.vm_hwm_kib),
        bare_rss_mb: mb(rssBareKiB),
        rss_after_require_mb: mb(rssAfterRequireKiB),
        require_ms: Math.round(requireMs),
        client_process_s: Math.round(seconds(t_start, process.hrtime.bigint()) * 100) / 100,
        node: process.version,
    };
    process.stdout.write(JSON.stringify(line) + '\n');
    await local.close();
    if (!verified) throw new Error(`phase (b): ${resB.docs_written} written, ${arrived} of ${ids.length} at the new revision`);
}

main().catch((e) => {
    process.stderr.write(`client: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
