/** The twin's token count: a quarter of the UTF-8 bytes, rounded up (close enough to real tokenisers). */
export const tokensOfBytes = (bytes: number) => Math.ceil(bytes / 4);
export const countTokens = (text: string) => tokensOfBytes(Buffer.byteLength(text, 'utf8'));
