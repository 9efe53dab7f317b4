// The Electron shell's entry point (composition root). See electron/main/README.md.
export {};
