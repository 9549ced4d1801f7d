import { defineConfig } from "vite";

// Plain Vite, no plugins: the Automerge wasm is emitted as an asset and
// loaded through `@automerge/automerge/slim` (see src/automerge.ts).
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run dev` proxies the API and the socket to a locally running server.
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/images": "http://127.0.0.1:8080",
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
