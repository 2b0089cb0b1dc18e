// A Podium layout (@podium/layout 5, its @podium/client) over layoutserver's podlets, for
// tests/web/test_podium_client.py. Usage: node podium_layout.mjs ORIGIN; prints its port.
// GET /article/<slug>: the seed page's three regions as a Podium document;
// GET /json/<slug>: what the client gave for each podlet (content, css, js), as JSON.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = createRequire(path.join(process.env.LS_NODE_MODULES, 'x.js'));
const load = async (name) => import(pathToFileURL(modules.resolve(name)).href);
const { default: Layout } = await load('@podium/layout');
const { HttpIncoming } = await load('@podium/utils');

const origin = process.argv[2];
const layout = new Layout({ name: 'newsLayout', pathname: '/' });
const regions = ['header', 'main', 'aside'].map((region) => layout.client.register({
    name: region,
    uri: `${origin}/podlets/article/region/${region}/manifest.json`,
    timeout: 2000,
}));

async function fetchRegions(req, res, slug) {
    const incoming = await layout.process(new HttpIncoming(req, res, {}));
    const results = await Promise.all(regions.map((podlet) => podlet.fetch(incoming, { pathname: slug })));
    return { incoming, results };
}

const server = http.createServer(async (req, res) => {
    try {
        const [, kind, slug] = req.url.split('/');
        const { incoming, results } = await fetchRegions(req, res, slug);
        if (kind === 'json') {
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify(results.map((result) => ({
                content: result.content,
                css: result.css.map((asset) => asset.value),
                js: result.js.map((asset) => asset.value),
            }))));
            return;
        }
        incoming.podlets = results;
        incoming.view = { title: 'Podium' };
        res.setHeader('content-type', 'text/html');
        res.end(layout.render(incoming, `<div class="ls-page ls-page--article">${results.join('')}</div>`));
    } catch (error) {
        res.statusCode = 500;
        res.end(String(error && error.stack));
    }
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
