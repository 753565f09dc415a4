/** Tables shared by the nodes of a cluster (migrations 0025, 0026). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
  fence: number;
  ran_at: number;
  acquired_at: number;
}

export interface RateWindowsTable {
  key: string;
  window_start: number;
  n: number;
  prev_n: number;
  until: number;
}

export interface IdempotencyKeysTable {
  key: string;
  fingerprint: string;
  state: string;
  status: number | null;
  content_type: string | null;
  payload: string | null;
  expires_at: number;
}
