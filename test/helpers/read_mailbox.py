"""Reads an export back with Python's own mailbox module (a reader we did not write).

usage: read_mailbox.py mbox FILE...   |   read_mailbox.py maildir ROOT
Prints JSON: {folder: [{flags, bytes (base64), subdir?}]}.
"""
import base64, json, mailbox, os, sys

kind = sys.argv[1]
out = {}
if kind == 'mbox':
    for path in sys.argv[2:]:
        box = mailbox.mbox(path, create=False)
        out[path] = [{'flags': box[k].get_flags(), 'from': box[k].get_from(), 'bytes': base64.b64encode(box.get_bytes(k)).decode()} for k in box.keys()]
else:
    root = mailbox.Maildir(sys.argv[2], factory=None, create=False)
    def dump(md):
        items = []
        for k in md.keys():
            m = md.get_message(k)
            items.append({'flags': m.get_flags(), 'subdir': m.get_subdir(), 'date': m.get_date(), 'bytes': base64.b64encode(md.get_bytes(k)).decode()})
        return items
    out['INBOX'] = dump(root)
    for name in root.list_folders():
        out[name] = dump(root.get_folder(name))
print(json.dumps(out))
