#!/usr/bin/env node
// Writes docs/benchmarks.md from the results tests/bench/run_all.sh collected (one JSON object per
// line: sync_bench's, the PouchDB client's and node_bench's last lines, each with its label and the
// command that produced it). Where a figure was measured several times the median is reported, and
// the spread (fastest–slowest) beside it.
//
//   node report.js RESULTS.jsonl OUT.md MACHINE_JSON DISK_FS REVISION QUICK "ARCH BYTES"...
'use strict';
const fs = require('fs');

const [resultsFile, outFile, machineJson, diskFs, revision, quick, ...sizeArgs] = process.argv.slice(2);
const rows = fs.readFileSync(resultsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const machine = JSON.parse(machineJson);
const sizes = sizeArgs.map((s) => s.split(' ')).map(([arch, bytes]) => ({ arch, bytes: Number(bytes) }));

const byLabel = (label) => rows.filter((r) => r.label === label);
const median = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const spread = (xs, f) => (xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : '');
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const mib = (kib) => kib / 1024;
const commands = (rs) => [...new Set(rs.map((r) => r.command))].map((c) => '`' + c + '`').join(', ');
const yes = (ok) => (ok ? '**met**' : '**not met**');

const pulls = rows.filter((r) => r.bench === 'sync' && r.direction === 'pull' && r.rtt_ms === 0 && r.kbit === 0);
const sizesPulled = [...new Set(pulls.map((r) => r.resources))].sort((a, b) => a - b);
const [small, large] = [sizesPulled[0], sizesPulled[sizesPulled.length - 1]];
const pull = (n) => pulls.filter((r) => r.resources === n);
const pouch = (n, s) => byLabel(`pouchdb-${n}-${s}`);
const med = (rs, k) => median(rs.map((r) => r[k]));

const lines = [];
const w = (s = '') => lines.push(s);
w('# Benchmarks');
w();
w('Written by `tests/bench/run_all.sh` (the one command: it builds what it needs and runs every figure below); do not edit by hand.');
if (quick === '1') w('\n**BENCH_QUICK run: one run per figure and smaller sizes. A check of the suite, not figures to quote.**');
w();
w(`- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; revision \`${revision}\``);
w(`- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.mem_gib} GiB RAM, Linux ${machine.kernel}; the stores on ${diskFs}; Node.js ${machine.node} for PouchDB`);
w('- Everything on this one machine over 127.0.0.1: the parent and the child are separate processes (edgesync: a parent `edgesync run` ' +
  'process and the child in `sync_bench`; PouchDB: `express-pouchdb` and `pouchdb-node` in two Node processes), so both sides share the cores.');
w('- Data: generated clinical resources (`tests/bench/generated.hpp`, written out for PouchDB by `gen_docs`): in every ten, one Patient, three ' +
  'Encounters and six Observations, each 1–3 KB of FHIR JSON with varied names, codes, values and narrative (gzip shrinks them 4.5×).');
w(`- Figures are medians of ${pull(small).length} runs where several were made, with the range (fastest–slowest) in brackets.`);
w();

// ---- the targets ---------------------------------------------------------------------------------------
const best = (n) => {
    const cands = ['default', 'b500'].map((s) => ({ s, rs: pouch(n, s) })).filter((c) => c.rs.length);
    cands.sort((a, b) => med(b.rs, 'docs_per_s') - med(a.rs, 'docs_per_s'));
    return cands[0];
};
w('## Targets');
w();
w('| target | measured | |');
w('|---|---|---|');
for (const n of [small, large]) {
    const b = best(n);
    if (!b || !pull(n).length) continue;
    const ours = med(pull(n), 'per_s'), theirs = med(b.rs, 'docs_per_s');
    w(`| (a) ≥ 5× PouchDB's throughput, ${fmt(n)} | ${fmt(ours)} against ${fmt(theirs)} resources/s (PouchDB's best setting, ${b.s}): ${fmt(ours / theirs, 2)}× | ${yes(ours / theirs >= 5)} |`);
    const ourRss = mib(med(pull(n), 'child_hwm_kib'));
    const theirRss = Math.min(...['default', 'b500'].filter((s) => pouch(n, s).length).map((s) => med(pouch(n, s), 'client_peak_rss_mb')));
    w(`| (a) ≤ 1/5 of PouchDB's peak RSS, ${fmt(n)} | child ${fmt(ourRss, 1)} MiB against ${fmt(theirRss, 1)} MiB (PouchDB's smallest): 1/${fmt(theirRss / ourRss, 1)} | ${yes(theirRss / ourRss >= 5)} |`);
}
if (pull(large).length && pull(small).length) {
    const l = mib(med(pull(large), 'child_hwm_kib')), s = mib(med(pull(small), 'child_hwm_kib'));
    w(`| child peak RSS ≤ 32 MB at ${fmt(large)} | ${fmt(l, 1)} MiB | ${yes(l * 1.048576 <= 32)} |`);
    w(`| … within 20% of the ${fmt(small)} figure | ${fmt(l, 1)} against ${fmt(s, 1)} MiB: ${l >= s ? '+' : ''}${fmt((l / s - 1) * 100, 1)}% | ${yes(l <= s * 1.2)} |`);
    const inc = med(pull(large), 'incremental_ms'), incS = med(pull(small), 'incremental_ms');
    w(`| (c) 100 changes on ${fmt(large)} ≤ 2 s | ${fmt(inc)} ms (on ${fmt(small)}: ${fmt(incS)} ms) | ${yes(inc <= 2000)} |`);
}
const link = rows.find((r) => r.bench === 'sync' && r.direction === 'pull' && r.rtt_ms === 300);
if (link) w(`| (d) 300 ms RTT, 1 Mbit/s: within 2× of the lower bound | ${fmt(link.seconds, 1)} s against ${fmt(link.bound_s, 1)} s: ${fmt(link.seconds / link.bound_s, 2)}× ` +
             `(against round trips + all bytes / bandwidth, ${fmt(link.bound_sum_s, 1)} s: ${fmt(link.seconds / link.bound_sum_s, 2)}×) | ${yes(link.seconds <= 2 * link.bound_s)} |`);
const linkPush = rows.find((r) => r.bench === 'sync' && r.direction === 'push' && r.rtt_ms === 300);
if (linkPush) w(`| (d) the same link, pushing | ${fmt(linkPush.seconds, 1)} s against ${fmt(linkPush.bound_s, 1)} s: ${fmt(linkPush.seconds / linkPush.bound_s, 2)}× | ${yes(linkPush.seconds <= 2 * linkPush.bound_s)} |`);
const node = rows.find((r) => r.bench === 'node');
if (node) w(`| idle RSS ≤ 8 MB (read as MiB) | ${fmt(mib(node.idle_rss_kib), 1)} MiB = ${fmt(node.idle_rss_kib * 1024 / 1e6, 2)} MB; a child syncing every 2 s: ` +
             `${fmt(mib(node.child_idle_rss_kib), 1)} MiB = ${fmt(node.child_idle_rss_kib * 1024 / 1e6, 2)} MB | ${yes(node.idle_rss_kib <= 8192)} |`);
const a64 = sizes.find((s) => s.arch === 'aarch64');
if (a64) w(`| stripped aarch64 binary ≤ 5 MiB | ${fmt(a64.bytes / 2 ** 20, 2)} MiB | ${yes(a64.bytes <= 5 * 2 ** 20)} |`);
w();

// ---- (a) + (b) + (c) ------------------------------------------------------------------------------------
w('## (a) Initial pull over loopback, (b) PouchDB, (c) incremental');
w();
const p0 = pulls[0] || {};
w(`edgesync: a child pulls every resource from a parent node into a fresh store (the defaults: feed pages of ${p0.page_size}, FHIR Bundle batches of ${p0.batch}, ` +
  `${p0.concurrency} batches in flight, gzip on the wire, synchronous=FULL commits); then 100 resources spread over the store and its three types change at the parent and the child pulls again. ` +
  'PouchDB: `PouchDB.replicate(remote, local)` into a fresh LevelDB database, then 100 documents change on the server and the same call runs again. ' +
  'Wire bytes are counted on the server side for PouchDB, at the proxy (both directions) for edgesync.');
w();
w('| system | resources | wall s | resources/s | client peak RSS MiB | server peak RSS MiB | wire MB down / up | incremental 100 ms |');
w('|---|---|---|---|---|---|---|---|');
for (const n of [small, large]) {
    const rs = pull(n);
    if (rs.length) {
        const per = rs.map((r) => r.per_s), wall = rs.map((r) => r.seconds), inc = rs.map((r) => r.incremental_ms);
        w(`| edgesync | ${fmt(n)} | ${fmt(median(wall), 2)}${spread(wall, (x) => fmt(x, 2))} | ${fmt(median(per))}${spread(per, fmt)} | ` +
          `${fmt(mib(med(rs, 'child_hwm_kib')), 1)} | ${fmt(mib(med(rs, 'parent_hwm_kib')), 1)} | ${fmt(med(rs, 'down_bytes') / 1e6, 1)} / ${fmt(med(rs, 'up_bytes') / 1e6, 2)} | ` +
          `${fmt(median(inc))}${spread(inc, fmt)} |`);
    }
    for (const s of ['default', 'b500']) {
        const ps = pouch(n, s);
        if (!ps.length) continue;
        const per = ps.map((r) => r.docs_per_s), wall = ps.map((r) => r.wall_s), inc = ps.map((r) => r.incremental_ms);
        w(`| PouchDB ${s === 'default' ? '(defaults: batch_size 100)' : '(batch_size 500)'} | ${fmt(n)} | ${fmt(median(wall), 2)}${spread(wall, (x) => fmt(x, 2))} | ` +
          `${fmt(median(per))}${spread(per, fmt)} | ${fmt(med(ps, 'client_peak_rss_mb'), 1)} | ${fmt(med(ps, 'server_peak_rss_mb'), 1)} | ` +
          `${fmt(med(ps, 'wire_bytes_from_server') / 1e6, 1)} / ${fmt(med(ps, 'wire_bytes_to_server') / 1e6, 2)} | ${fmt(median(inc))}${spread(inc, fmt)} |`);
    }
}
w();
w('Ratios, edgesync against PouchDB in the same run:');
w();
w('| resources | PouchDB setting | throughput | client peak RSS | wire bytes down | incremental |');
w('|---|---|---|---|---|---|');
for (const n of [small, large]) {
    if (!pull(n).length) continue;
    for (const s of ['default', 'b500']) {
        const ps = pouch(n, s);
        if (!ps.length) continue;
        w(`| ${fmt(n)} | ${s} | ${fmt(med(pull(n), 'per_s') / med(ps, 'docs_per_s'), 2)}× faster | ` +
          `${fmt(med(ps, 'client_peak_rss_mb') / mib(med(pull(n), 'child_hwm_kib')), 1)}× smaller | ` +
          `${fmt(med(ps, 'wire_bytes_from_server') / med(pull(n), 'down_bytes'), 1)}× fewer | ` +
          `${fmt(med(ps, 'incremental_ms') / med(pull(n), 'incremental_ms'), 1)}× faster |`);
    }
}
w();
w('Server peak RSS, edgesync: the parent process, seeding included. Commands:');
w();
for (const n of [small, large]) {
    if (pull(n).length) w(`- edgesync ${fmt(n)}: ${commands(pull(n))}`);
    for (const s of ['default', 'b500']) if (pouch(n, s).length) w(`- PouchDB ${fmt(n)} ${s}: ${commands(pouch(n, s))}`);
}
w();

// ---- push and the slow link --------------------------------------------------------------------------------
w('## (d) A slow link, and the push');
w();
w('Through the link proxy in `sync_bench` (each direction delayed by half the RTT and capped at the bandwidth on its own, pieces in flight ' +
  'overlapping as on a real pipe). Two bounds. The strict lower bound, which no client could beat over that link: the larger of the round trips ' +
  'the protocol cannot avoid (pull: one per feed page, since a page names the next, and one per category to start; push: one) and the busier ' +
  'direction\'s bytes at the bandwidth. And the issue\'s formula, the round trips plus all bytes at the bandwidth one after the other (on push with ' +
  'one round trip per write batch, which a client that waits for each answer before sending the next would pay; this one keeps up to three batches ' +
  'out): a client that overlaps them beats it.');
w();
w('| scenario | resources | wall s | resources/s | wire MB down / up | round trips | strict bound s | × strict | round trips + bytes s | × that | command |');
w('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows.filter((x) => x.bench === 'sync' && (x.direction === 'push' || x.rtt_ms > 0))) {
    const what = `${r.direction}${r.rtt_ms ? `, ${r.rtt_ms} ms RTT, ${r.kbit ? fmt(r.kbit / 1000, 1) + ' Mbit/s' : 'uncapped'}` : ', loopback'}`;
    const b = (x) => (x ? fmt(x, 1) : '–'), times = (x) => (x ? fmt(r.seconds / x, 2) + '×' : '–');
    w(`| ${what} | ${fmt(r.resources)} | ${fmt(r.seconds, 2)} | ${fmt(r.per_s)} | ${fmt(r.down_bytes / 1e6, 2)} / ${fmt(r.up_bytes / 1e6, 2)} | ` +
      `${r.rtt_ms ? fmt(r.round_trips) : '–'} | ${b(r.bound_s)} | ${times(r.bound_s)} | ${b(r.bound_sum_s)} | ${times(r.bound_sum_s)} | \`${r.command}\` |`);
}
w();

// ---- (e) ------------------------------------------------------------------------------------------------------
w('## (e) Idle, start-up and size');
w();
if (node) {
    w(`\`${node.command}\`: real \`edgesync run\` processes (the static x86-64 binary).`);
    w();
    w('| figure | value |');
    w('|---|---|');
    w(`| cold start to /readyz, fresh data folder (store created), median of ${node.runs} | ${fmt(node.cold_fresh_ms, 1)} ms (fastest ${fmt(node.cold_fresh_min_ms, 1)}) |`);
    w(`| cold start to /readyz, existing store (opened, quick integrity check), median of ${node.runs} | ${fmt(node.cold_reopen_ms, 1)} ms (fastest ${fmt(node.cold_reopen_min_ms, 1)}) |`);
    w(`| RSS of a node when ready | ${fmt(mib(node.ready_rss_kib), 1)} MiB |`);
    w(`| RSS of that node after ${node.idle_s} s idle (peak) | ${fmt(mib(node.idle_rss_kib), 1)} MiB (${fmt(mib(node.idle_hwm_kib), 1)}): ` +
      `${fmt(mib(node.idle_file_kib), 1)} MiB the program's own pages (clean, file-backed), ${fmt(mib(node.idle_anon_kib), 1)} MiB anonymous |`);
    w(`| RSS of a child syncing both ways with it every 2 s, after ${node.idle_s} s (peak) | ${fmt(mib(node.child_idle_rss_kib), 1)} MiB (${fmt(mib(node.child_idle_hwm_kib), 1)}), ` +
      `${fmt(mib(node.child_idle_anon_kib), 1)} MiB anonymous |`);
}
w();
w('| architecture | stripped static binary |');
w('|---|---|');
for (const s of sizes) w(`| ${s.arch} | ${fmt(s.bytes / 2 ** 20, 2)} MiB (${fmt(s.bytes)} bytes), \`dist/edgesync-${s.arch === 'x86-64' ? 'host' : s.arch}\` |`);
w();
w('Built by `cross/build.sh host|aarch64|armhf|armel` (static; the ARM builds size-optimised); the PouchDB client for comparison needs Node.js ' +
  `(${machine.node}) and its node_modules besides.`);
w();
w('The raw figures of this run, one JSON object per measurement with the command that produced it, are in `docs/benchmarks.jsonl`.');
w();
fs.writeFileSync(outFile, lines.join('\n'));
