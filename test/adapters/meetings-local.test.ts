import { LocalMeetingProvider, nameBasedUuid } from '../../adapters/meetings/local';

const BASE_URL = 'http://localhost:3000';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Two instances stand for the API and the worker: separate processes share no memory. */
function twoProcesses(opts: { secret?: string } = {}): [LocalMeetingProvider, LocalMeetingProvider] {
  return [new LocalMeetingProvider({ baseUrl: BASE_URL, ...opts }), new LocalMeetingProvider({ baseUrl: `${BASE_URL}/`, ...opts })];
}

describe('LocalMeetingProvider', () => {
  it('when a meeting is created, then it has Chime-shaped join info under the API origin', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: BASE_URL });
    const meeting = await provider.createMeeting({ clientRequestToken: 'tour-42-meeting', externalMeetingId: 'tour-42' });

    expect(provider.name).toBe('local');
    expect(meeting.MeetingId).toMatch(UUID);
    expect(meeting.ExternalMeetingId).toBe('tour-42');
    expect(meeting.MediaRegion).toBe('local');
    const base = `localhost:3000/local-meetings/${meeting.MeetingId}/`;
    expect(meeting.MediaPlacement).toEqual({
      AudioHostUrl: `ws://${base}audio`,
      AudioFallbackUrl: `ws://${base}audio-fallback`,
      SignalingUrl: `ws://${base}signaling`,
      TurnControlUrl: `http://${base}turn-sessions`,
      ScreenDataUrl: `ws://${base}screen`,
      ScreenViewingUrl: `ws://${base}screen/view`,
      ScreenSharingUrl: `ws://${base}screen`,
      EventIngestionUrl: `http://${base}client-events`,
    });
  });

  it('when the API origin is https, then the sockets are wss', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: 'https://tours.example.test', mediaRegion: 'eu-central-1' });
    const meeting = await provider.createMeeting({ clientRequestToken: 'tour-42', externalMeetingId: 'tour-42' });
    expect(meeting.MediaRegion).toBe('eu-central-1');
    expect(meeting.MediaPlacement.SignalingUrl).toBe(`wss://tours.example.test/local-meetings/${meeting.MeetingId}/signaling`);
    expect(meeting.MediaPlacement.TurnControlUrl).toBe(`https://tours.example.test/local-meetings/${meeting.MeetingId}/turn-sessions`);
  });

  it('when two processes create a meeting with the same token, then they get the same meeting', async () => {
    const [api, worker] = twoProcesses();
    const input = { clientRequestToken: 'tour-42-meeting', externalMeetingId: 'tour-42' };
    const a = await api.createMeeting(input);
    const b = await worker.createMeeting(input);
    const retry = await api.createMeeting(input);
    expect(b).toEqual(a);
    expect(retry).toEqual(a);
  });

  it('when the token differs, then the meeting differs', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: BASE_URL });
    const a = await provider.createMeeting({ clientRequestToken: 'tour-42', externalMeetingId: 'tour-42' });
    const b = await provider.createMeeting({ clientRequestToken: 'tour-43', externalMeetingId: 'tour-42' });
    expect(b.MeetingId).not.toBe(a.MeetingId);
  });

  it('when two processes add the same user to a meeting, then they get the same attendee and join token', async () => {
    const [api, worker] = twoProcesses();
    const { MeetingId } = await api.createMeeting({ clientRequestToken: 'tour-42', externalMeetingId: 'tour-42' });
    const a = await api.createAttendee(MeetingId, 'user-7');
    const b = await worker.createAttendee(MeetingId, 'user-7');

    expect(a.AttendeeId).toMatch(UUID);
    expect(a.ExternalUserId).toBe('user-7');
    expect(a.JoinToken).toMatch(/^[A-Za-z0-9+/]{40,}$/);
    expect(b).toEqual(a);
  });

  it('when users differ, or the meeting differs, then attendee id and join token differ', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: BASE_URL });
    const m1 = (await provider.createMeeting({ clientRequestToken: 'tour-42', externalMeetingId: 'tour-42' })).MeetingId;
    const m2 = (await provider.createMeeting({ clientRequestToken: 'tour-43', externalMeetingId: 'tour-43' })).MeetingId;
    const realtor = await provider.createAttendee(m1, 'user-7');
    const buyer = await provider.createAttendee(m1, 'user-8');
    const elsewhere = await provider.createAttendee(m2, 'user-7');

    expect(new Set([realtor.AttendeeId, buyer.AttendeeId, elsewhere.AttendeeId]).size).toBe(3);
    expect(new Set([realtor.JoinToken, buyer.JoinToken, elsewhere.JoinToken]).size).toBe(3);
  });

  it('when a secret is configured, then join tokens depend on it and processes sharing it agree', async () => {
    const [a, b] = twoProcesses({ secret: 'shared-secret' });
    const plain = new LocalMeetingProvider({ baseUrl: BASE_URL });
    const meetingId = nameBasedUuid('meeting', 'tour-42');
    const withSecret = await a.createAttendee(meetingId, 'user-7');
    expect(await b.createAttendee(meetingId, 'user-7')).toEqual(withSecret);
    const without = await plain.createAttendee(meetingId, 'user-7');
    expect(without.AttendeeId).toBe(withSecret.AttendeeId);
    expect(without.JoinToken).not.toBe(withSecret.JoinToken);
  });

  it('when recording starts, then the pipeline id is deterministic per meeting and prefix', async () => {
    const [api, worker] = twoProcesses();
    const meetingId = nameBasedUuid('meeting', 'tour-42');
    const a = await api.startRecording(meetingId, 'recordings/tour-42');
    expect(a.pipelineId).toMatch(UUID);
    expect(await worker.startRecording(meetingId, 'recordings/tour-42')).toEqual(a);
    expect((await api.startRecording(meetingId, 'recordings/tour-42/part-2')).pipelineId).not.toBe(a.pipelineId);
  });

  it('when deleted, stopped or deleted again, then nothing fails', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: BASE_URL });
    const meetingId = nameBasedUuid('meeting', 'tour-42');
    const { AttendeeId } = await provider.createAttendee(meetingId, 'user-7');
    const { pipelineId } = await provider.startRecording(meetingId, 'recordings/tour-42');
    for (let i = 0; i < 2; i += 1) {
      await expect(provider.stopRecording(pipelineId)).resolves.toBeUndefined();
      await expect(provider.deleteAttendee(meetingId, AttendeeId)).resolves.toBeUndefined();
      await expect(provider.deleteMeeting(meetingId)).resolves.toBeUndefined();
    }
  });

  it('when finalized, then there is no captured recording, however many pipelines ran', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: BASE_URL });
    const meetingId = nameBasedUuid('meeting', 'tour-42');
    const { pipelineId } = await provider.startRecording(meetingId, 'recordings/tour-42');
    await expect(
      provider.finalizeRecording({ meetingId, pipelineIds: [pipelineId], keyPrefix: 'recordings/tour-42', heartbeat: () => undefined }),
    ).resolves.toBeNull();
    await expect(provider.finalizeRecording({ meetingId, pipelineIds: [], keyPrefix: 'recordings/tour-42' })).resolves.toBeNull();
  });

  it('when input is invalid, then it fails with the name Chime would use', async () => {
    const provider = new LocalMeetingProvider({ baseUrl: BASE_URL });
    await expect(provider.createMeeting({ clientRequestToken: '', externalMeetingId: 'tour-42' })).rejects.toMatchObject({
      name: 'BadRequestException',
    });
    await expect(provider.createAttendee('not-a-meeting', 'user-7')).rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(provider.createAttendee(nameBasedUuid('meeting', 'x'), '')).rejects.toMatchObject({ name: 'BadRequestException' });
  });

  it('when the base URL is not an http(s) URL, then construction fails', () => {
    expect(() => new LocalMeetingProvider({ baseUrl: 'localhost:3000' })).toThrow(/baseUrl/);
    expect(() => new LocalMeetingProvider({ baseUrl: 'ftp://example.test' })).toThrow(/baseUrl/);
  });

  it('nameBasedUuid is a stable RFC 9562 version-8 UUID that separates its names', () => {
    expect(nameBasedUuid('a', 'b')).toBe(nameBasedUuid('a', 'b'));
    expect(nameBasedUuid('a', 'b')).toMatch(UUID);
    expect(nameBasedUuid('a', 'b')).not.toBe(nameBasedUuid('ab'));
  });
});
