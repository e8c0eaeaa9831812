/** A deterministic token count: about four characters a token, like OpenAI's rule of thumb. */
export const tokenEstimate = (text: string): number => Math.ceil(text.length / 4);
