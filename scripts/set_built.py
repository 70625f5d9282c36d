#!/usr/bin/python3
"""set_built.py NAME... - mark settings as built (the 9th column of
include/cgunicorn/settings.def).  A maintenance helper: the table is edited
by hand otherwise."""
import re
import sys

PATH = 'include/cgunicorn/settings.def'


def split_args(body):
    """Split the top-level comma-separated arguments of a CG_SETTING row."""
    args, cur, instr, esc = [], '', False, False
    for ch in body:
        if instr:
            cur += ch
            if esc:
                esc = False
            elif ch == '\\':
                esc = True
            elif ch == '"':
                instr = False
            continue
        if ch == '"':
            instr = True
        if ch == ',':
            args.append(cur)
            cur = ''
            continue
        cur += ch
    args.append(cur)
    return args


def main(names):
    s = open(PATH).read()
    for name in names:
        m = re.search(r'CG_SETTING\(%s,.*?\)\n(?=CG_SETTING|/\*|\Z)' % re.escape(name), s, re.S)
        if not m:
            sys.exit('no setting %s' % name)
        row = m.group(0)
        args = split_args(row[len('CG_SETTING('):-2])
        if args[8].strip() not in ('0', '1'):
            sys.exit('unexpected built column for %s: %r' % (name, args[8]))
        args[8] = args[8].replace('0', '1')
        s = s.replace(row, 'CG_SETTING(' + ','.join(args) + ')\n')
    open(PATH, 'w').write(s)


if __name__ == '__main__':
    main(sys.argv[1:])
