import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e,f,g,h,i}from"./chunk-IKGKZ2CE.js";import"./chunk-VWLZYQUK.js";import"./chunk-KOJ6ISTJ.js";import"./chunk-IJ2XGV45.js";import"./chunk-I3GPN2KU.js";export{c as AGENT_BUNDLE_LAYER,d as BUNDLE_FILE_ANNOTATION,b as OCI_CONFIG,a as OCI_MANIFEST,h as imageConfigSchema,g as manifestSchema,f as packImage,i as parseManifest,e as sha256};
