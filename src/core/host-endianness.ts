/** Whether typed arrays on this host are little-endian (every engine this project targets is; checked where it matters). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
