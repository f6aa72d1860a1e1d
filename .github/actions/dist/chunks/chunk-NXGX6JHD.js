import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
var a="<!-- agentcore-gitops-preview -->";async function c(t,e,r,o=a){let s=r.includes(o)?r:`${o}
${r}`,i=(await t.paginate(t.rest.issues.listComments,{owner:e.owner,repo:e.repo,issue_number:e.number,per_page:100})).find(n=>n.body?.includes(o));if(i){let{data:n}=await t.rest.issues.updateComment({owner:e.owner,repo:e.repo,comment_id:i.id,body:s});return{id:n.id,action:"updated",url:n.html_url}}let{data:u}=await t.rest.issues.createComment({owner:e.owner,repo:e.repo,issue_number:e.number,body:s});return{id:u.id,action:"created",url:u.html_url}}export{a,c as b};
