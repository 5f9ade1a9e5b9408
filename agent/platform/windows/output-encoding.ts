/**
 * Which encoding a console program's output is in: the OEM code page (cmd's default for pipes).
 * Pages WHATWG TextDecoder knows are passed through with their label; the others (437, 850 and the
 * other single-byte DOS pages) are transcoded to UTF-8 by Windows itself (MultiByteToWideChar), so
 * the agent never meets a label TextDecoder would reject.
 */

const labels: Record<number, string> = {
  65001: 'utf-8',
  866: 'ibm866',
  874: 'windows-874',
  932: 'shift_jis',
  936: 'gbk',
  949: 'euc-kr',
  950: 'big5',
  1250: 'windows-1250',
  1251: 'windows-1251',
  1252: 'windows-1252',
  1253: 'windows-1253',
  1254: 'windows-1254',
  1255: 'windows-1255',
  1256: 'windows-1256',
  1257: 'windows-1257',
  1258: 'windows-1258',
  10000: 'macintosh',
  20866: 'koi8-r',
  21866: 'koi8-u',
  28591: 'windows-1252',
  28592: 'iso-8859-2',
  28595: 'iso-8859-5',
  28597: 'iso-8859-7',
  28605: 'iso-8859-15',
  54936: 'gb18030',
};

/** How to treat output in code page `cp`: a TextDecoder label, or transcode to UTF-8 first. */
export function outputEncodingFor(cp: number): { label: string; transcode: false } | { label: 'utf-8'; transcode: true } {
  const label = labels[cp];
  return label ? { label, transcode: false } : { label: 'utf-8', transcode: true };
}
