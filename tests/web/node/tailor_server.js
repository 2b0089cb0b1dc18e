// node-tailor in front of layoutserver, for tests/web/test_tailor.py and bench/tailor.py.
// Usage: node tailor_server.js TEMPLATES_DIR [PORT]; prints its port, then serves
// /<name> from TEMPLATES_DIR/<name>.html. The AMD loader is require.js from npm, inlined
// (Tailor's default loads it from cdnjs); maxAssetLinks: each fragment names several.
'use strict';
const http = require('http');
const path = require('path');
const Tailor = require('node-tailor');

const [templates, port = '0'] = process.argv.slice(2);
const loader = path.join(process.env.LS_NODE_MODULES, 'requirejs', 'require.js');
const tailor = new Tailor({
    templatesPath: templates,
    amdLoaderUrl: 'file://' + loader,
    maxAssetLinks: 20,
});
const server = http.createServer((req, res) => tailor.requestHandler(req, res));
server.keepAliveTimeout = 60000;
server.listen(Number(port), '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
