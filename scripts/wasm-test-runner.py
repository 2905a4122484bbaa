"""Runs a wasm32-wasip1 test binary under Wasmtime: cargo's runner for that
target (scripts/test-wasm.sh), so the library's own tests run as the code
Envoy loads, SIMD paths included.

    python wasm-test-runner.py <test binary .wasm> [libtest arguments...]
"""
import sys

import wasmtime

path, args = sys.argv[1], sys.argv[1:]
config = wasmtime.Config()
config.wasm_simd = True
engine = wasmtime.Engine(config)
module = wasmtime.Module.from_file(engine, path)
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.argv = args
wasi.inherit_stdout()
wasi.inherit_stderr()
wasi.inherit_env()
store.set_wasi(wasi)
# The proxy-wasm host calls the library imports: defined, and never called by a test.
for imp in module.imports:
    if imp.module == "env":
        def host_call(*_args, name=imp.name):
            raise wasmtime.WasmtimeError(f"proxy-wasm host call {name} in a test")
        linker.define_func("env", imp.name, imp.type, host_call)
instance = linker.instantiate(store, module)
try:
    instance.exports(store)["_start"](store)
except wasmtime.ExitTrap as exit:
    sys.exit(exit.code)
except wasmtime.Trap as trap:
    # Wasm panics abort: a failed assertion ends the run here, its message above.
    print(f"the test binary aborted (a test failed or panicked): {trap.message}", file=sys.stderr)
    sys.exit(101)
