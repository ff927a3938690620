/** Types of scripts/build-codecs.mjs (imported by tests). */
export declare const MOZJPEG_BUILD: string;
export declare const MOZJPEG_INITIAL_PAGES: number;
export declare function lowerInitialMemory(wasm: Uint8Array, pages: number): Uint8Array<ArrayBuffer>;
export declare function buildCodecs(options?: { force?: boolean; quiet?: boolean }): boolean;
