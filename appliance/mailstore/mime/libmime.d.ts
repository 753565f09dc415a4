/** The part of libmime (MIT, in the tree through Haraka and mailauth) the mail store uses. */
declare module 'libmime' {
  interface ParsedHeaderValue {
    value: string | false;
    params: Record<string, string>;
  }
  const libmime: {
    /** Content-Type style value with parameters; RFC 2231 continuations and charset'lang'value decoded. */
    parseHeaderValue(value: string): ParsedHeaderValue;
    decodeWords(value: string): string;
  };
  export default libmime;
}
