/** Whether these Windows tests run under Wine: Wine's ntdll exports wine_get_version, Windows' does not. */
import koffi from 'koffi';

export const UNDER_WINE = (() => {
  try {
    koffi.load('ntdll.dll').func('const char * wine_get_version()');
    return true;
  } catch {
    return false;
  }
})();
