// "Test an image": an image pasted anywhere on the page (outside text fields) is handed to the panel's file input, as
// if chosen, so it goes through the same upload as chosen and dropped files. Only image files are taken from the
// clipboard; text (a link included) is never fetched: the panel is told, and says so.
const listeners = new WeakMap();

const extensions = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif", "image/bmp": "bmp" };

export function attachPaste(input, panel) {
    detachPaste(input);
    const onPaste = event => {
        const target = event.target;
        if (target instanceof HTMLElement && (target.isContentEditable || target.tagName === "TEXTAREA"
            || (target.tagName === "INPUT" && target.type !== "file"))) return;
        const items = event.clipboardData ? [...event.clipboardData.items] : [];
        const images = items.filter(i => i.kind === "file" && i.type.startsWith("image/")).map(i => i.getAsFile()).filter(f => f);
        if (images.length === 0) {
            if (items.length > 0) panel.invokeMethodAsync("PastedNoImageAsync", items.some(i => i.kind === "string"));
            return;
        }
        event.preventDefault();
        if (input.disabled) return;
        const transfer = new DataTransfer();
        images.forEach((file, i) => {
            // Browsers call every pasted picture "image.png": number them so each card says which one it is.
            const generic = !file.name || /^image\.\w+$/.test(file.name);
            const name = generic ? `pasted image ${i + 1}.${extensions[file.type] ?? "png"}` : file.name;
            transfer.items.add(new File([file], name, { type: file.type }));
        });
        input.files = transfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
    };
    document.addEventListener("paste", onPaste);
    listeners.set(input, onPaste);
}

export function detachPaste(input) {
    const onPaste = listeners.get(input);
    if (onPaste) document.removeEventListener("paste", onPaste);
    listeners.delete(input);
}
