// A pass-through HTTP proxy in front of eventchat that can cut a streaming response in the
// middle, for the network-drop scenario.
//
// Neither Playwright's route interception (it hands a response over only once it is
// complete) nor `context.setOffline` (Chromium lets a response already streaming finish)
// can drop a connection mid-stream, so the scenario's page talks to eventchat through this
// proxy: `cutNext({ path, afterBytes })` makes the next response to a request on `path`
// that is a stream (`X-Eventchat-Turn` header) pass its first bytes on, and once more
// than `afterBytes` went through, write only half of the next chunk (so the cut falls
// inside a frame) and destroy both sockets, as a lost network would.
// `paceNext({ path, frameDelayMs })` instead delivers that stream one frame at a time.
import http from "node:http";

// Forwards a stream one SSE frame at a time, `ms` apart, as a slow network would deliver
// it: each frame is its own write, so the page reads (and draws) each state on its own.
function pace(up, res, ms) {
  const frames = [];
  let pending = "", ended = false, busy = false;
  const pump = async () => {
    if (busy) return;
    busy = true;
    while (frames.length) {
      res.write(frames.shift());
      await new Promise((r) => setTimeout(r, ms));
    }
    busy = false;
    if (ended) res.end();
  };
  up.setEncoding("utf8");
  up.on("data", (text) => {
    pending += text;
    let cut;
    while ((cut = pending.indexOf("\n\n")) >= 0) {
      const frame = pending.slice(0, cut + 2);
      pending = pending.slice(cut + 2);
      // A `: seq=N` comment travels with the event it numbers.
      const last = frames[frames.length - 1];
      if (last !== undefined && last.startsWith(": seq=") && !last.includes("data:")) frames[frames.length - 1] += frame;
      else frames.push(frame);
    }
    pump();
  });
  up.on("end", () => { ended = true; if (pending) frames.push(pending); pump(); });
}

export async function startProxy(target) {
  const to = new URL(target);
  const cuts = [];
  const log = [];
  const server = http.createServer((req, res) => {
    const upstream = http.request({
      host: to.hostname, port: to.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: to.host }, agent: false,
    }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      const path = req.url.split("?")[0];
      const i = up.headers["x-eventchat-turn"] ? cuts.findIndex((c) => c.path === path) : -1;
      if (i < 0) {
        up.pipe(res);
        return;
      }
      const cut = cuts.splice(i, 1)[0];
      if (cut.frameDelayMs) {
        pace(up, res, cut.frameDelayMs);
        return;
      }
      let sent = 0;
      up.on("data", (chunk) => {
        if (sent + chunk.length <= cut.afterBytes) {
          sent += chunk.length;
          res.write(chunk);
          return;
        }
        const half = Math.max(1, Math.floor(chunk.length / 2));
        res.write(chunk.subarray(0, half), () => {
          log.push({ path, turn: up.headers["x-eventchat-turn"], bytes: sent + half });
          res.socket?.destroy();
          upstream.destroy();
        });
        up.pause();
        up.removeAllListeners("data");
      });
      up.on("end", () => res.end());
    });
    upstream.on("error", () => res.socket?.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cutNext: ({ path, afterBytes }) => cuts.push({ path, afterBytes }),
    paceNext: ({ path, frameDelayMs }) => cuts.push({ path, frameDelayMs }),
    cutsDone: () => log.slice(),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
