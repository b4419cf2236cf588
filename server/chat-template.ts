import type { components } from '../openapi/types.gen.ts';

export type ChatMessage = components['schemas']['ChatMessage'];

function contentText(content: ChatMessage['content']): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/**
 * Renders a conversation into one encoder prompt. Flan-T5 has no chat format: it was trained on plain
 * instructions, so a lone user message is passed through untouched (the case that matters most for
 * quality). Anything richer becomes a transcript the decoder continues:
 *
 *     <system message>           (each system/developer message, as its own paragraph)
 *
 *     User: <message>
 *     Assistant: <reply>
 *     User: <message>
 *     Assistant:
 *
 * The same template renders the websocket chat's history, so a conversation reads the same over both.
 */
export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => contentText(m.content).trim());
  const turns = messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  if (system.length === 0 && turns.length === 1 && turns[0].role === 'user') return contentText(turns[0].content);
  const transcript = turns.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${contentText(m.content).trim()}`);
  // The decoder writes the assistant's next turn; ending on "Assistant:" says whose turn it is.
  transcript.push('Assistant:');
  return [...system.filter(Boolean), transcript.join('\n')].filter(Boolean).join('\n\n');
}
