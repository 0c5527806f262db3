/**
 * Turning a raw RFC 822 message into the text a reader sees: the subject and
 * a cleaned, shortened body. Headers (routing, dates, addresses) are dropped
 * because they identify the collection a message came from rather than
 * whether it is spam.
 */
const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export interface MailText {
  subject: string;
  body: string;
}

function headerValue(headers: string, name: string): string {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const value = unfolded.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'im'))?.[1];
  return value === undefined ? '' : value.trim();
}

function cleanBody(body: string): string {
  return (
    body
      .replace(/=\r?\n/g, '') // quoted-printable soft line breaks
      .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
      .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&(#\d+|[a-z]+);/gi, (m, e: string) => (e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? m)))
      .split('\n')
      // MIME boundaries and part headers, and quoted replies, say little about the message itself.
      .filter((line) => !/^--/.test(line) && !/^(content-[a-z-]+|mime-version):/i.test(line) && !/^\s*>/.test(line))
      .join(' ')
      .replace(/[^\S\n]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** Cuts text to at most `max` characters at a word boundary. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut} ...`;
}

export function readMail(raw: string, maxBody = 400): MailText {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split);
  return { subject: headerValue(headers, 'Subject'), body: shorten(cleanBody(body), maxBody) };
}
