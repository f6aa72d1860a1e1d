import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
var a={now:()=>Date.now(),sleep:t=>new Promise(e=>setTimeout(e,t))},r=class extends Error{};async function c(t,e){let n=e.clock??a,s=n.now()+e.timeoutMs,o=Math.min(250,e.intervalMs);for(;;){let i=await t();if(i!==void 0)return i;let l=s-n.now();if(l<=0)throw new r(`timed out after ${Math.round(e.timeoutMs/1e3)} s waiting for ${e.what}`);await n.sleep(Math.min(o,l)),o=Math.min(o*2,e.intervalMs)}}export{a,c as b};
