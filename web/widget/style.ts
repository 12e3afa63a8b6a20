export const css = `
:host { all: initial; --tl-color: #1d4ed8; font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #16181d; }
* { box-sizing: border-box; }
button, input, textarea { font: inherit; }
.launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0; background: var(--tl-color); color: #fff; font-size: 24px; cursor: pointer; box-shadow: 0 4px 14px rgb(0 0 0 / .25); z-index: 2147483000; display: grid; place-items: center; }
.launcher:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #111; outline-offset: 2px; }
.badge { position: absolute; top: -4px; right: -4px; background: #b42318; color: #fff; border-radius: 10px; min-width: 20px; padding: 0 5px; font-size: 12px; line-height: 20px; }
.panel { position: fixed; right: 20px; bottom: 88px; width: min(370px, calc(100vw - 24px)); height: min(560px, calc(100vh - 110px)); background: #fff; border-radius: 12px; box-shadow: 0 8px 30px rgb(0 0 0 / .25); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483000; }
.panel[hidden] { display: none; }
header { background: var(--tl-color); color: #fff; padding: 12px 14px; display: flex; gap: 10px; align-items: center; }
header h2 { margin: 0; font-size: 16px; }
header p { margin: 0; font-size: 12px; }
header > div:nth-child(2) { flex: 1; }
.avatars { display: flex; }
.avatars img, .avatar { width: 28px; height: 28px; border-radius: 50%; border: 2px solid #fff; margin-right: -6px; background: #fff; color: #16181d; display: inline-grid; place-items: center; font-weight: 600; }
.call { padding: 10px 14px; border-bottom: 1px solid #d0d5dd; background: #f7f8fa; display: flex; flex-direction: column; gap: 8px; position: relative; }
.call p { margin: 0; font-weight: 600; }
.call video.remote { width: 100%; max-height: 200px; background: #16181d; border-radius: 8px; }
.call video.local { position: absolute; right: 20px; bottom: 52px; width: 84px; border-radius: 6px; border: 2px solid #fff; background: #16181d; }
.call video[hidden] { display: none; }
.call-controls { display: flex; gap: 8px; flex-wrap: wrap; }
.call-controls button { border: 1px solid #8a919c; background: #fff; color: #16181d; border-radius: 6px; padding: 6px 10px; cursor: pointer; }
.callback-form { display: flex; flex-direction: column; gap: 8px; }
.call .error { color: #b42318; margin: 0; font-weight: 400; }
.call-controls .primary { background: var(--tl-color); border-color: var(--tl-color); color: #fff; }
.call-controls .hang-up { background: #b42318; border-color: #b42318; color: #fff; }
.close { background: transparent; color: #fff; border: 0; padding: 4px; cursor: pointer; line-height: 0; border-radius: 6px; }
form.prechat { padding: 14px; overflow-y: auto; display: flex; flex-direction: column; gap: 10px; }
label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: #30343b; }
input, textarea { border: 1px solid #8a919c; border-radius: 6px; padding: 7px 9px; width: 100%; color: #16181d; background: #fff; }
.primary { background: var(--tl-color); color: #fff; border: 0; border-radius: 6px; padding: 8px 12px; cursor: pointer; }
.conversation { display: flex; flex-direction: column; flex: 1; min-height: 0; }
.messages { list-style: none; margin: 0; padding: 12px; overflow-y: auto; flex: 1; display: flex; flex-direction: column; gap: 8px; }
.messages li { display: flex; gap: 6px; align-items: flex-end; }
.messages li.mine { justify-content: flex-end; }
.bubble { max-width: 80%; padding: 7px 10px; border-radius: 12px; background: #eef1f5; }
.mine .bubble { background: var(--tl-color); color: #fff; }
.bubble p { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.bubble img { max-width: 100%; border-radius: 6px; }
.mine .bubble a { color: #fff; }
.who { font-size: 11px; font-weight: 600; display: block; }
time { font-size: 11px; opacity: .8; }
.face { width: 24px; height: 24px; border-radius: 50%; }
.typing { margin: 0; padding: 0 12px 4px; font-size: 12px; color: #4b5260; font-style: italic; }
.notice { margin: 6px 12px; padding: 6px 8px; background: #fff6d6; border-radius: 6px; font-size: 12px; color: #3d3200; }
.error { margin: 6px 12px; color: #b42318; font-size: 12px; }
.collect { display: flex; gap: 6px; align-items: flex-end; padding: 6px 12px; }
.collect label { flex: 1; }
.collect button { border: 1px solid #8a919c; border-radius: 6px; background: #fff; padding: 7px 10px; cursor: pointer; }
.composer { display: flex; gap: 6px; align-items: flex-end; border-top: 1px solid #d9dde3; padding: 8px; }
.composer textarea { flex: 1; resize: none; }
.attach { cursor: pointer; font-size: 18px; padding: 6px; position: relative; }
.attach input { position: absolute; inset: 0; opacity: 0; width: 100%; cursor: pointer; }
.req { color: #8a1c12; }
.survey-item .bubble { flex: 1; max-width: 100%; }
.survey { display: flex; flex-direction: column; gap: 6px; }
.survey p.question, .survey p.thanks { font-weight: 600; }
.survey form { display: flex; flex-direction: column; gap: 6px; }
.survey form .primary { align-self: flex-end; }
.survey button:disabled { opacity: .55; cursor: default; }
.scale { display: flex; flex-wrap: wrap; gap: 2px; }
.stars button { background: none; border: 0; border-radius: 6px; padding: 3px; color: #b45309; cursor: pointer; line-height: 0; }
.stars .on svg { fill: currentColor; }
@media (hover: hover) { .stars:hover button:enabled svg { fill: currentColor; } .stars button:hover ~ button svg { fill: none; } }
.nps { display: grid; grid-template-columns: repeat(11, minmax(0, 1fr)); }
.nps button { border: 1px solid #8a919c; border-radius: 4px; background: #fff; color: #16181d; padding: 5px 0; cursor: pointer; }
.nps button.on { background: var(--tl-color); border-color: var(--tl-color); color: #fff; }
.survey .ends { display: flex; justify-content: space-between; gap: 8px; margin: 0; font-size: 11px; color: #4b5260; }
.ends span:last-child { text-align: end; }
.survey .error { margin: 0; }
.tabs { display: flex; border-bottom: 1px solid #d9dde3; }
.tabs button { flex: 1; background: #fff; border: 0; border-bottom: 3px solid transparent; padding: 8px; cursor: pointer; color: #30343b; }
.tabs button[aria-selected=true] { border-bottom-color: var(--tl-color); color: #16181d; font-weight: 600; }
.help { padding: 12px; overflow-y: auto; flex: 1; display: flex; flex-direction: column; gap: 10px; }
.help form { display: flex; gap: 6px; align-items: flex-end; }
.help form label { flex: 1; }
.help h3 { margin: 0; font-size: 14px; }
.results { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.results button { width: 100%; text-align: start; background: #fff; border: 1px solid #d9dde3; border-radius: 8px; padding: 8px 10px; cursor: pointer; color: #16181d; }
.results strong { display: block; }
.results span { font-size: 12px; color: #4b5260; }
.article-body { overflow-wrap: anywhere; }
.article-body img { max-width: 100%; }
.article-body table { border-collapse: collapse; }
.article-body td, .article-body th { border: 1px solid #d9dde3; padding: 3px 6px; }
.link { background: none; border: 0; padding: 0; color: #1d4ed8; text-decoration: underline; cursor: pointer; align-self: flex-start; }
.votes { display: flex; gap: 6px; align-items: center; }
.votes button { border: 1px solid #8a919c; border-radius: 6px; background: #fff; padding: 5px 12px; cursor: pointer; }
`;
