/**
 * The Win32 calls of the agent's own service (being one, installing one, protecting its files), bound
 * apart from win32-api.ts and on first use: only the service and the installer need them.
 * Structure layouts are x64 and written out where they are built.
 */
import koffi from 'koffi';

// biome-ignore lint/suspicious/noExplicitAny: koffi functions are variadic by nature.
type Fn = (...args: any[]) => any;
type AsyncFn = Fn & { async: Fn };

const decl = {
  advapi32: [
    'bool __stdcall StartServiceCtrlDispatcherW(void *table)',
    'void * __stdcall RegisterServiceCtrlHandlerExW(void *name, void *handler, void *context)',
    'bool __stdcall SetServiceStatus(void *handle, void *status)',
    'void * __stdcall OpenSCManagerW(void *machine, void *db, uint32_t access)',
    'void * __stdcall CreateServiceW(void *scm, void *name, void *display, uint32_t access, uint32_t type, uint32_t start, uint32_t errorControl, void *binPath, void *group, void *tag, void *deps, void *account, void *password)',
    'void * __stdcall OpenServiceW(void *scm, void *name, uint32_t access)',
    'bool __stdcall ChangeServiceConfig2W(void *svc, uint32_t level, void *info)',
    'bool __stdcall StartServiceW(void *svc, uint32_t argc, void *argv)',
    'bool __stdcall ControlService(void *svc, uint32_t control, void *status)',
    'bool __stdcall QueryServiceStatusEx(void *svc, int level, void *buf, uint32_t size, void *needed)',
    'bool __stdcall DeleteService(void *svc)',
    'bool __stdcall CloseServiceHandle(void *h)',
    'bool __stdcall ConvertStringSecurityDescriptorToSecurityDescriptorW(void *sddl, uint32_t revision, void *sd, void *size)',
    'bool __stdcall SetFileSecurityW(void *file, uint32_t info, void *sd)',
  ],
  kernel32: ['uint32_t __stdcall GetLastError()', 'void * __stdcall LocalFree(void *mem)'],
} as const;

type Names<S> = S extends `${string} __stdcall ${infer N}(${string}` ? N : never;
type AllNames = { [L in keyof typeof decl]: Names<(typeof decl)[L][number]> }[keyof typeof decl];
export type ServiceApi = Record<AllNames, AsyncFn>;

let cached: ServiceApi | undefined;

/** The bound functions (loads the DLLs on first call; Windows only). */
export function serviceApi(): ServiceApi {
  if (cached) return cached;
  const out: Record<string, AsyncFn> = {};
  for (const [dll, protos] of Object.entries(decl)) {
    const lib = koffi.load(`${dll}.dll`);
    for (const p of protos) {
      const fn = lib.func(p) as AsyncFn & { info: { name: string } };
      out[fn.info.name] = fn;
    }
  }
  cached = out as ServiceApi;
  return cached;
}

/** LPSERVICE_MAIN_FUNCTIONW and LPHANDLER_FUNCTION_EX as JS functions. */
export type ServiceMain = (argc: number, argv: bigint | null) => void;
export type ServiceHandler = (control: number, eventType: number, eventData: bigint | null, context: bigint | null) => number;

let mainType: ReturnType<typeof koffi.proto> | undefined;
let handlerType: ReturnType<typeof koffi.proto> | undefined;

/** Registers the ServiceMain and HandlerEx callbacks (koffi relays calls from the SCM's threads to the main thread). */
export function registerServiceCallbacks(main: ServiceMain, handler: ServiceHandler): { main: bigint; handler: bigint; release(): void } {
  mainType ??= koffi.proto('void __stdcall GcServiceMain(uint32_t argc, void *argv)');
  handlerType ??= koffi.proto('uint32_t __stdcall GcServiceHandler(uint32_t control, uint32_t eventType, void *eventData, void *context)');
  const m = koffi.register(main, koffi.pointer(mainType));
  const h = koffi.register(handler, koffi.pointer(handlerType));
  return {
    main: m,
    handler: h,
    release() {
      koffi.unregister(m);
      koffi.unregister(h);
    },
  };
}

/** The address of a Buffer's first byte. */
export function addressOfBuffer(buf: Buffer): bigint {
  return koffi.address(buf);
}

/** INVALID_HANDLE_VALUE or NULL, as koffi returns them. */
export function isBadHandle(h: unknown): boolean {
  return h == null || h === 0n || h === -1n || h === 0xffffffffffffffffn;
}
