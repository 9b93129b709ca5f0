(function(){
function copy(text){
 if(navigator.clipboard&&window.isSecureContext){return navigator.clipboard.writeText(text);}
 return new Promise(function(ok,fail){var t=document.createElement('textarea');t.value=text;
  t.setAttribute('readonly','');t.style.position='fixed';t.style.opacity='0';document.body.appendChild(t);t.select();
  try{document.execCommand('copy')?ok():fail();}catch(e){fail(e);}document.body.removeChild(t);});
}
document.querySelectorAll('button[data-copy]').forEach(function(b){
 var label=b.textContent;b.hidden=false;
 b.addEventListener('click',function(){
  var source=document.getElementById(b.getAttribute('data-copy'));
  copy(source.textContent).then(function(){b.textContent='Copied';b.classList.add('done');},
   function(){b.textContent='Select it and copy';});
  setTimeout(function(){b.textContent=label;b.classList.remove('done');},1600);
 });
});
})();
