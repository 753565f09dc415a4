/**
 * The slice of nodemailer the tests drive (a real SMTP client; a devDependency without bundled
 * types, and @types/nodemailer is not installed): SMTP transports and sendMail.
 */
declare module 'nodemailer' {
  export interface SmtpTransportOptions {
    host: string;
    port: number;
    secure?: boolean;
    requireTLS?: boolean;
    ignoreTLS?: boolean;
    auth?: { user: string; pass: string };
    tls?: { rejectUnauthorized?: boolean; servername?: string };
  }
  export interface MailOptions {
    from: string;
    to: string | string[];
    subject?: string;
    text?: string;
    html?: string;
    headers?: Record<string, string>;
  }
  export interface SentMessageInfo {
    messageId: string;
    accepted: string[];
    rejected: string[];
    response: string;
  }
  export interface Transporter {
    sendMail(mail: MailOptions): Promise<SentMessageInfo>;
    close(): void;
  }
  export function createTransport(options: SmtpTransportOptions): Transporter;
  const nodemailer: { createTransport: typeof createTransport };
  export default nodemailer;
}
