// The Automerge replica library, loaded without any bundler plugin: the
// `/slim` entry has no wasm of its own, and Vite emits `automerge.wasm` as a
// plain asset whose URL we hand to `initializeWasm` at start-up.
import * as A from "@automerge/automerge/slim";
import wasmUrl from "@automerge/automerge/automerge.wasm?url";

let ready: Promise<void> | undefined;

/** Loads the wasm module once; every other call waits for the same load. */
export function initAutomerge(): Promise<void> {
  ready ??= A.initializeWasm(wasmUrl);
  return ready;
}

export { A };
