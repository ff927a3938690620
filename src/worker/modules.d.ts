declare module '*.wasm' { const m: WebAssembly.Module; export default m; }
declare module '*.onnx' { const b: ArrayBuffer; export default b; }
declare module '*.safetensors' { const b: ArrayBuffer; export default b; }
