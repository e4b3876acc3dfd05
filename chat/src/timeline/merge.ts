/** The first `limit` items of two lists that are each in ascending `seq`, merged in ascending `seq`. */
export function mergeBySeq<A extends { seq: number }, B extends { seq: number }>(a: A[], b: B[], limit: number): (A | B)[] {
  const merged: (A | B)[] = []
  let i = 0
  let j = 0
  while (merged.length < limit && (i < a.length || j < b.length)) {
    if (j >= b.length || (i < a.length && a[i].seq < b[j].seq)) merged.push(a[i++])
    else merged.push(b[j++])
  }
  return merged
}
