import { Model, type ModelClass, type RelationMappings } from 'objection';


/**
 * Objection models for the seed schema. They live in one module because their
 * relations refer to each other in both directions.
 */

export type Role = 'buyer' | 'realtor' | 'admin';

/** Shared behaviour: timestamps are kept by the database (defaults and a trigger). */
export abstract class BaseModel extends Model {
  id!: number;
  created_at!: Date;
  updated_at!: Date;

  override $beforeUpdate(): void {
    delete (this as Partial<BaseModel>).updated_at;
  }
}

export class User extends BaseModel {
  static override tableName = 'users';
  full_name!: string;
  email!: string;
  role!: Role;
  cognito_sub!: string;
  disabled_at!: Date | null;
  deleted_at!: Date | null;
  avatar_key!: string | null;

  properties?: Property[];
  bookings?: Booking[];

  static override get relationMappings(): RelationMappings {
    return {
      properties: { relation: Model.HasManyRelation, modelClass: Property, join: { from: 'users.id', to: 'properties.realtor_id' } },
      bookings: { relation: Model.HasManyRelation, modelClass: Booking, join: { from: 'users.id', to: 'bookings.buyer_id' } },
    };
  }
}

export class Property extends BaseModel {
  static override tableName = 'properties';
  realtor_id!: number;
  address!: string;
  mls_id!: string | null;
  description!: string | null;
  price!: string | null;
  bedrooms!: number | null;
  bathrooms!: number | null;
  sqft!: number | null;
  status!: string;
  city!: string | null;
  state!: string | null;
  postal_code!: string | null;
  property_type!: string | null;
  latitude!: string | null;
  longitude!: string | null;
  deleted_at!: Date | null;

  realtor?: User;
  images?: PropertyImage[];
  bookings?: Booking[];

  static override get relationMappings(): RelationMappings {
    return {
      realtor: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'properties.realtor_id', to: 'users.id' } },
      images: { relation: Model.HasManyRelation, modelClass: PropertyImage, join: { from: 'properties.id', to: 'property_images.property_id' } },
      bookings: { relation: Model.HasManyRelation, modelClass: Booking, join: { from: 'properties.id', to: 'bookings.property_id' } },
    };
  }
}

export class PropertyImage extends BaseModel {
  static override tableName = 'property_images';
  property_id!: number;
  original_key!: string;
  processed_key!: string | null;
  thumbnail_key!: string | null;
  status!: 'pending' | 'processing' | 'ready' | 'failed';
  failure_reason!: string | null;
  content_type!: string | null;
  byte_size!: number | null;
  width!: number | null;
  height!: number | null;
  processed_width!: number | null;
  processed_height!: number | null;
  thumbnail_width!: number | null;
  thumbnail_height!: number | null;
  position!: number;

  property?: Property;

  static override get relationMappings(): RelationMappings {
    return {
      property: { relation: Model.BelongsToOneRelation, modelClass: Property, join: { from: 'property_images.property_id', to: 'properties.id' } },
    };
  }
}

export class Booking extends BaseModel {
  static override tableName = 'bookings';
  buyer_id!: number;
  property_id!: number;
  scheduled_at!: Date;
  status!: string;
  duration_minutes!: number;
  notes!: string | null;
  ends_at!: Date;
  realtor_id!: number;
  cancellation_reason!: string | null;
  decline_reason!: string | null;
  cancelled_by!: number | null;
  ics_sequence!: number;
  workflow_started_at!: Date | null;
  status_changed_at!: Date | null;

  buyer?: User;
  property?: Property;
  tour?: Tour;

  static override get relationMappings(): RelationMappings {
    return {
      buyer: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'bookings.buyer_id', to: 'users.id' } },
      property: { relation: Model.BelongsToOneRelation, modelClass: Property, join: { from: 'bookings.property_id', to: 'properties.id' } },
      tour: { relation: Model.HasOneRelation, modelClass: Tour, join: { from: 'bookings.id', to: 'tours.booking_id' } },
    };
  }
}

export class Tour extends BaseModel {
  static override tableName = 'tours';
  property_id!: number;
  realtor_id!: number;
  buyer_id!: number;
  booking_id!: number;
  status!: string;
  scheduled_at!: Date;
  started_at!: Date | null;
  ended_at!: Date | null;
  summary!: Record<string, unknown> | null;
  duration_minutes!: number;
  ends_at!: Date;
  processing_step!: string | null;
  processing_error!: string | null;

  property?: Property;
  realtor?: User;
  buyer?: User;
  booking?: Booking;
  calls?: Call[];
  notes?: TourNote[];
  transcripts?: Transcript[];
  highlights?: Highlight[];
  recordings?: Recording[];

  static override get relationMappings(): RelationMappings {
    const child = (modelClass: ModelClass<BaseModel>, table: string) => ({
      relation: Model.HasManyRelation,
      modelClass,
      join: { from: 'tours.id', to: `${table}.tour_id` },
    });
    return {
      property: { relation: Model.BelongsToOneRelation, modelClass: Property, join: { from: 'tours.property_id', to: 'properties.id' } },
      realtor: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'tours.realtor_id', to: 'users.id' } },
      buyer: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'tours.buyer_id', to: 'users.id' } },
      booking: { relation: Model.BelongsToOneRelation, modelClass: Booking, join: { from: 'tours.booking_id', to: 'bookings.id' } },
      calls: child(Call, 'calls'),
      notes: child(TourNote, 'tour_notes'),
      transcripts: child(Transcript, 'transcripts'),
      highlights: child(Highlight, 'highlights'),
      recordings: child(Recording, 'recordings'),
    };
  }
}

abstract class TourChild extends BaseModel {
  tour_id!: number;
  tour?: Tour;

  static override get relationMappings(): RelationMappings {
    return {
      tour: { relation: Model.BelongsToOneRelation, modelClass: Tour, join: { from: `${this.tableName}.tour_id`, to: 'tours.id' } },
    };
  }
}

export class Call extends TourChild {
  static override tableName = 'calls';
  chime_meeting_id!: string;
  status!: string;
  meeting!: Record<string, unknown> | null;
  recording_pipelines!: Array<{ id: string; active: boolean }>;
  recording_active!: boolean;
  started_at!: Date | null;
  ended_at!: Date | null;
}

export class TourNote extends TourChild {
  static override tableName = 'tour_notes';
  user_id!: number;
  content!: string;
  tag!: string | null;
  timestamp_ms!: number | null;
  author?: User;

  static override get relationMappings(): RelationMappings {
    return {
      ...super.relationMappings,
      author: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'tour_notes.user_id', to: 'users.id' } },
    };
  }
}

export class Transcript extends TourChild {
  static override tableName = 'transcripts';
  full_text!: string | null;
  segments!: Array<{ start_ms: number; end_ms: number; text: string }> | null;
  confidence_score!: string | null;
}

export class Highlight extends TourChild {
  static override tableName = 'highlights';
  timestamp_ms!: number;
  note!: string | null;
  image_url!: string | null;
  highlight_type!: string | null;
}

export class Recording extends TourChild {
  static override tableName = 'recordings';
  mux_asset_id!: string | null;
  storage_key!: string | null;
  playback_url!: string | null;
  duration_seconds!: number | null;
  file_size_bytes!: number | null;
  recorded_at!: Date | null;
}

export class AuditLog extends Model {
  static override tableName = 'audit_logs';
  id!: number;
  user_id!: number | null;
  action!: string;
  resource_type!: string | null;
  resource_id!: number | null;
  details!: string | null;
  request_id!: string | null;
  created_at!: Date;
  user?: User;

  static override get relationMappings(): RelationMappings {
    return {
      user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'audit_logs.user_id', to: 'users.id' } },
    };
  }
}

export class Notification extends BaseModel {
  static override tableName = 'notifications';
  idempotency_key!: string;
  channel!: string;
  template!: string;
  recipient_user_id!: number | null;
  recipient!: string;
  subject!: string | null;
  status!: 'pending' | 'sent' | 'failed';
  provider_message_id!: string | null;
  attempts!: number;
  last_error!: string | null;
  payload!: Record<string, unknown> | null;
  sent_at!: Date | null;
  recipient_user?: User;

  static override get relationMappings(): RelationMappings {
    return {
      recipient_user: { relation: Model.BelongsToOneRelation, modelClass: User, join: { from: 'notifications.recipient_user_id', to: 'users.id' } },
    };
  }
}
