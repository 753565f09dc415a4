/** \Seen per member of a shared mailbox (migration 0042, issue 19). */
export interface MemberSeenTable {
  member_mailbox_id: string;
  folder_id: number;
  uid: number;
}
