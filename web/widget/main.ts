export {};
(window as unknown as { $throughline: object }).$throughline = {};
