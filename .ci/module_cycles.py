#!/usr/bin/env python3
"""Finds import cycles between the modules of each crate of the workspace.

Every path a file names (in `use` lines and inline: `crate::a::b`,
`super::c`) is resolved to the deepest module it reaches, and gives an edge
between the two sibling modules, at whatever depth, that hold the file and
that module: `core::port` naming `crate::objects::PortPtr` is an edge
`core -> objects`, and naming `super::state::Shared` an edge
`core::port -> core::state`. A module naming its own ancestors' modules is
not an edge (a parent declares its children). The items the crate root
defines itself (functions, types, statics: not its `use` re-exports) are
one more node, `<crate items>`, with an edge to each module their bodies
name, so a module calling `crate::api()` depends on what `api()` uses.

Prints each cycle with the files that make its edges, and exits 1 if there
is one. Usage: module_cycles.py CRATE_SRC_DIR...
"""
import os
import re
import sys
from collections import defaultdict


def strip(src):
    """The source without comments, strings and char literals (a small
    tokenizer: a '"' char literal must not open a string)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
        elif src.startswith('/*', i):
            depth = 0
            while i < n:
                if src.startswith('/*', i):
                    depth += 1
                    i += 2
                elif src.startswith('*/', i):
                    depth -= 1
                    i += 2
                    if depth == 0:
                        break
                else:
                    i += 1
        elif c in 'rb' and re.match(r'b?r#*"', src[i:i + 12]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == '_')):
            m = re.match(r'b?r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + len(m.group(0)))
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == '\\' else 1
            i += 1
            out.append('""')
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m:
                i += len(m.group(0))
                out.append("' '")
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def expand(path):
    """`a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`."""
    m = re.match(r'^([\w:]*?)\{(.*)\}$', path, re.S)
    if not m:
        return [path]
    prefix, body = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ''
    for ch in body:
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if p:
            out += expand(prefix + p)
    return out


ROOT_ITEMS = ('<crate items>',)


def module_edges(src_dir):
    files = {}
    for d, _, names in os.walk(src_dir):
        for name in names:
            if name.endswith('.rs'):
                path = os.path.join(d, name)
                module = os.path.relpath(path, src_dir)[:-3].split(os.sep)
                if module[-1] in ('mod', 'lib', 'main'):
                    module = module[:-1]
                files[path] = tuple(module)
    modules = set(files.values())
    edges = defaultdict(set)

    root_file = next(p for p, m in files.items() if m == ())
    root_src = strip(open(root_file).read())
    root_items = set(re.findall(
        r'^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:fn|struct|enum|static|const|type|trait)\s+(\w+)',
        root_src, re.M))
    bodies = re.sub(r'^\s*(pub(\([^)]*\))?\s+)?(use|mod)\b[^;]*;', '', root_src, flags=re.M)
    for m in re.finditer(r'\b(?:crate::)?(\w+)::', bodies):
        if (m.group(1),) in modules:
            edges[ROOT_ITEMS].add(((m.group(1),), root_file))

    for path, module in files.items():
        src = strip(open(path).read())
        named = []
        for m in re.finditer(r'\buse\s+([^;]+);', src):
            named += expand(re.sub(r'\s+', '', m.group(1)))
        named += re.findall(r'\b((?:crate|super)(?:::\w+)+)', src)
        for name in named:
            segs = [re.sub(r'as\w+$', '', s) for s in name.split('::')]
            if segs[0] == 'crate':
                base, segs = [], segs[1:]
            elif segs[0] in ('super', 'self'):
                base = list(module)
                while segs and segs[0] == 'super':
                    base, segs = base[:-1], segs[1:]
                if segs and segs[0] == 'self':
                    segs = segs[1:]
            else:
                continue
            target = list(base)
            for s in segs:
                if tuple(target + [s]) not in modules:
                    break
                target.append(s)
            target = tuple(target)
            if target == () and segs and segs[0] in root_items and module != ():
                edges[module[:1]].add((ROOT_ITEMS, path))
                continue
            common = 0
            while common < min(len(module), len(target)) and module[common] == target[common]:
                common += 1
            if common == len(module):
                continue  # the module itself, or a parent naming its child
            a = module[:common + 1]
            b = target[:common + 1] if common < len(target) else target
            if a != b:
                edges[a].add((b, path))
    return edges


def cycles(edges):
    graph = defaultdict(set)
    for a, targets in edges.items():
        for b, _ in targets:
            graph[a].add(b)
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def name(module):
    return '::'.join(module) or 'crate'


def main():
    failed = False
    for src_dir in sys.argv[1:]:
        edges = module_edges(src_dir)
        found = cycles(edges)
        if not found:
            print(f'{src_dir}: no module cycles')
            continue
        failed = True
        for component in found:
            members = set(component)
            print(f'{src_dir}: cycle between ' + ', '.join(sorted(name(m) for m in component)))
            for a in sorted(component):
                by_target = defaultdict(set)
                for b, path in edges[a]:
                    if b in members:
                        by_target[b].add(os.path.relpath(path, src_dir))
                for b, paths in sorted(by_target.items()):
                    print(f'    {name(a)} -> {name(b)}: {" ".join(sorted(paths))}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
