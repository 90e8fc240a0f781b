#!/usr/bin/env node
// Loads an NDJSON file of documents (one JSON object per line) into the server's database over
// HTTP, with bulkDocs in batches (1000 by default). Each document's _id is its FHIR
// "resourceType/id" (or its id when it has no resourceType). Not part of the timed replication.
//
//   node load.js DB_URL NDJSON_FILE META_OUT [BATCH=1000] [CHANGES=100]
//
// META_OUT receives {n, json_bytes, change_ids, ...}: change_ids are the CHANGES documents the
// client changes for the incremental phase, every floor(n / CHANGES)-th in file order.
'use strict';

const fs = require('fs');
const readline = require('readline');

const [dbUrl, file, metaOut, batchArg, changesArg] = process.argv.slice(2);
if (!dbUrl || !file || !metaOut) {
    process.stderr.write('usage: node load.js DB_URL NDJSON_FILE META_OUT [BATCH=1000] [CHANGES=100]\n');
    process.exit(2);
}
const batchSize = Number(batchArg || 1000);
const changes = Number(changesArg || 100);

const PouchDB = require('pouchdb-node');

function docId(doc, line) {
    if (typeof doc.id !== 'string' || doc.id === '') throw new Error(`line ${line}: the document has no "id"`);
    return typeof doc.resourceType === 'string' && doc.resourceType !== '' ? doc.resourceType + '/' + doc.id : doc.id;
}

async function main() {
    const db = new PouchDB(dbUrl);
    const ids = [];
    let batch = [], jsonBytes = 0, lineNo = 0;
    const t0 = process.hrtime.bigint();
    const flush = async () => {
        if (batch.length === 0) return;
        const res = await db.bulkDocs(batch);
        const bad = res.filter((r) => !r.ok);
        if (bad.length) throw new Error(`bulkDocs: ${bad.length} of ${batch.length} failed, first: ${JSON.stringify(bad[0])}`);
        batch = [];
    };
    const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    for await (const line of rl) {
        ++lineNo;
        if (line.trim() === '') continue;
        jsonBytes += Buffer.byteLength(line);
        const doc = JSON.parse(line);
        doc._id = docId(doc, lineNo);
        ids.push(doc._id);
        batch.push(doc);
        if (batch.length >= batchSize) await flush();
    }
    await flush();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const info = await db.info();
    if (info.doc_count !== ids.length) throw new Error(`the server holds ${info.doc_count} documents, the file ${ids.length} (duplicate ids?)`);

    const n = ids.length;
    const step = Math.max(1, Math.floor(n / changes));
    const changeIds = [];
    for (let i = 0; i < n && changeIds.length < changes; i += step) changeIds.push(ids[i]);
    const meta = { n, json_bytes: jsonBytes, source: file, load_s: secs, batch: batchSize, change_ids: changeIds };
    fs.writeFileSync(metaOut, JSON.stringify(meta) + '\n');
    process.stderr.write(`load: ${n} documents (${(jsonBytes / 1e6).toFixed(1)} MB of JSON) in ${secs.toFixed(2)} s ` +
                         `(${Math.round(n / secs)} docs/s), batches of ${batchSize}\n`);
}

main().catch((e) => {
    process.stderr.write(`load: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
